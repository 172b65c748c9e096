"""The ECM episode lifecycle: every step, its rules, clocks, notices and access."""

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from calaim import access
from calaim.errors import ConflictError
from calaim.work.models import Task
from care_plans.models import Episode, EpisodeEvent, Notice, OutreachAttempt
from care_plans.services import (
    encounter_record,
    episode_assign,
    episode_authorize,
    episode_decline,
    episode_deny,
    episode_discontinue,
    episode_enroll,
    episode_identify,
    episode_presumptively_authorize,
    episode_reassign_lead,
    episode_unable_to_reach,
    outreach_record,
    outreach_rule_met,
)
from care_plans.services.encounters import encounter_counts
from community_supports.models import ProviderContract
from members.models import PopulationOfFocus
from members.services import other_program_add
from tests.factories import EnrollmentFactory, MemberFactory, UserFactory

TODAY = timezone.localdate


@pytest.fixture
def contract(cast):
    contract = ProviderContract.objects.create(
        plan=cast.plan,
        provider=cast.ecm_provider,
        service=ProviderContract.Service.ECM,
        start_date=date(2024, 1, 1),
        capacity=10,
        may_presumptively_authorize=True,
    )
    contract.counties.add("37")
    return contract


@pytest.fixture
def newcomer(cast):
    """A member of the cast's plan with no ECM episode yet."""
    member = MemberFactory(first_name="Nova", last_name="Newcomer")
    EnrollmentFactory(member=member, plan=cast.plan, start_date=date(2025, 1, 1))
    return member


def _authorized(cast, member, **identify):
    episode = episode_identify(
        member=member, source="plan_data", actor=cast.plan_admin, **identify
    )
    return episode_authorize(
        episode=episode,
        actor=cast.plan_admin,
        authorization_number="AUTH-1",
        authorized_from=TODAY(),
        authorized_through=TODAY() + timedelta(days=180),
    )


def _assigned(cast, member):
    episode = _authorized(cast, member)
    return episode_assign(
        episode=episode,
        provider=cast.ecm_provider,
        lead_care_manager=cast.colleague,
        actor=cast.plan_admin,
    )


def test_a_member_goes_from_identified_to_discontinued(cast, contract, newcomer):
    population = PopulationOfFocus.objects.get(code="adult_homeless_individual")
    episode = episode_identify(
        member=newcomer,
        source="plan_data",
        population=population,
        actor=cast.plan_admin,
    )
    assert episode.status == "authorization_requested"
    task = Task.objects.get(kind="ecm.authorization_decision", member_id=newcomer.pk)
    assert task.organization == cast.plan
    assert task.due_at == episode.authorization_due_at

    episode = episode_authorize(
        episode=episode,
        actor=cast.plan_admin,
        authorization_number="A-77",
        authorized_from=TODAY(),
        authorized_through=TODAY() + timedelta(days=180),
    )
    task.refresh_from_db()
    assert task.status == "done"
    episode = episode_assign(
        episode=episode,
        provider=cast.ecm_provider,
        lead_care_manager=cast.colleague,
        actor=cast.plan_admin,
    )
    assert newcomer in access.visible_members(cast.colleague)
    assert Notice.objects.filter(episode=episode, kind="assignment").exists()

    outreach_record(
        episode=episode,
        attempted_at=timezone.now(),
        method="phone",
        outcome="reached",
        minutes=12,
        actor=cast.colleague,
    )
    episode.refresh_from_db()
    assert episode.status == "outreach"
    episode = episode_enroll(
        episode=episode,
        consented_on=TODAY(),
        consent_method="verbal",
        actor=cast.colleague,
    )
    encounter_record(
        episode=episode,
        occurred_on=TODAY(),
        mode="telephonic",
        minutes=30,
        actor=cast.colleague,
    )
    assert encounter_counts(episode, TODAY(), TODAY()) == {
        "in_person": 0,
        "telephonic_video": 1,
    }
    episode = episode_discontinue(
        episode=episode, reason="goals_met", actor=cast.supervisor
    )
    assert episode.closed_at is not None
    assert episode.dhcs_discontinuation_code == "1"
    assert Notice.objects.filter(episode=episode, kind="discontinuation").exists()
    actions = list(episode.events.values_list("action", flat=True))
    assert actions == [
        "identify",
        "request_authorization",
        "authorize",
        "assign",
        "start_outreach",
        "enroll",
        "discontinue",
    ]
    assert newcomer not in access.visible_members(cast.colleague)


def test_expedited_requests_get_a_72_hour_clock(cast, newcomer):
    before = timezone.now()
    episode = episode_identify(
        member=newcomer, source="plan_data", urgency="expedited", actor=cast.plan_admin
    )
    due = episode.authorization_due_at - before
    assert timedelta(hours=71, minutes=59) < due <= timedelta(hours=72, seconds=5)


def test_standard_requests_get_five_business_days(cast, newcomer):
    episode = episode_identify(
        member=newcomer, source="plan_data", actor=cast.plan_admin
    )
    local = timezone.localtime(episode.authorization_due_at)
    assert local.hour == 17
    assert (local.date() - TODAY()).days >= 7 - 2  # five business days at least


def test_a_second_open_episode_is_refused(cast):
    with pytest.raises(ConflictError, match="already has an open ECM episode"):
        episode_identify(member=cast.member, source="plan_data", actor=cast.plan_admin)
    assert Episode.objects.filter(member=cast.member).count() == 1


def test_authorization_is_refused_while_an_exclusion_is_active(cast, newcomer):
    episode = episode_identify(
        member=newcomer, source="plan_data", actor=cast.plan_admin
    )
    other_program_add(
        member=newcomer,
        program="hospice",
        start_date=TODAY() - timedelta(days=3),
        actor=cast.plan_admin,
    )
    with pytest.raises(ValidationError, match="Hospice"):
        episode_authorize(
            episode=episode,
            actor=cast.plan_admin,
            authorization_number="X",
            authorized_from=TODAY(),
            authorized_through=TODAY() + timedelta(days=30),
        )
    episode.refresh_from_db()
    assert episode.status == "authorization_requested"


def test_a_denial_closes_the_episode_and_sends_notices(cast, newcomer):
    episode = episode_identify(
        member=newcomer,
        source="provider_referral",
        actor=cast.supervisor,
        referrer_contact="Dr. Example, Example Clinic",
    )
    with pytest.raises(ValidationError, match="reason"):
        episode_deny(episode=episode, actor=cast.plan_admin, reason="no")
    episode = episode_deny(
        episode=episode,
        actor=cast.plan_admin,
        reason="Does not meet a population of focus at this time.",
    )
    assert episode.status == "denied"
    assert episode.closed_at is not None
    kinds = set(episode.notices.values_list("kind", flat=True))
    assert kinds == {"denial", "referrer_decision"}
    denial = episode.notices.get(kind="denial")
    assert "Does not meet a population of focus" in denial.html
    assert "appeal" in denial.html


def test_only_the_members_plan_decides(cast, newcomer):
    episode = episode_identify(
        member=newcomer, source="plan_data", actor=cast.plan_admin
    )
    with pytest.raises(Http404):
        episode_deny(
            episode=episode,
            actor=cast.other_plan_admin,
            reason="Not our member at all really",
        )
    with pytest.raises(PermissionDenied):
        episode_deny(
            episode=episode,
            actor=cast.supervisor,
            reason="Providers do not decide this",
        )


def test_a_contracted_provider_may_presumptively_authorize_for_30_days(
    cast, contract, newcomer
):
    episode = episode_identify(
        member=newcomer, source="provider_referral", actor=cast.supervisor
    )
    episode = episode_presumptively_authorize(
        episode=episode, actor=cast.provider_admin
    )
    assert episode.status == "authorized"
    assert episode.presumptive_until == TODAY() + timedelta(days=30)
    # The plan's clock still runs until the plan confirms.
    assert Task.objects.filter(member_id=newcomer.pk, status="open").exists()
    episode = episode_authorize(
        episode=episode,
        actor=cast.plan_admin,
        authorization_number="P-1",
        authorized_from=TODAY(),
        authorized_through=TODAY() + timedelta(days=90),
    )
    assert episode.presumptive_until is None
    assert not Task.objects.filter(member_id=newcomer.pk, status="open").exists()


def test_presumptive_authorization_needs_a_contract_that_allows_it(cast, newcomer):
    episode = episode_identify(
        member=newcomer, source="plan_data", actor=cast.plan_admin
    )
    with pytest.raises(PermissionDenied, match="no ECM contract"):
        episode_presumptively_authorize(episode=episode, actor=cast.provider_admin)


def test_assignment_needs_a_contract_in_the_county_and_capacity(
    cast, contract, newcomer
):
    episode = _authorized(cast, newcomer)
    with pytest.raises(ValidationError, match="no ECM contract"):
        episode_assign(
            episode=episode,
            provider=cast.other_ecm_provider,
            lead_care_manager=cast.other_care_manager,
            actor=cast.plan_admin,
        )
    with pytest.raises(ValidationError, match="care manager of that provider"):
        episode_assign(
            episode=episode,
            provider=cast.ecm_provider,
            lead_care_manager=cast.other_care_manager,
            actor=cast.plan_admin,
        )
    contract.capacity = 1  # the cast's own episode takes the only place
    contract.save()
    with pytest.raises(ValidationError, match="at capacity"):
        episode_assign(
            episode=episode,
            provider=cast.ecm_provider,
            lead_care_manager=cast.colleague,
            actor=cast.plan_admin,
        )
    episode.refresh_from_db()
    assert episode.status == "authorized"
    assert not episode.events.filter(action="assign").exists()


def test_a_stale_version_is_refused_with_a_conflict(cast, contract, newcomer):
    episode = _authorized(cast, newcomer)
    with pytest.raises(ConflictError) as raised:
        episode_assign(
            episode=episode,
            provider=cast.ecm_provider,
            lead_care_manager=cast.colleague,
            actor=cast.plan_admin,
            expected_version=episode.version - 1,
        )
    assert raised.value.code == "stale_version"


def test_assigning_twice_gives_a_conflict_the_second_time(cast, contract, newcomer):
    episode = _assigned(cast, newcomer)
    with pytest.raises(ConflictError, match="assigned a moment ago"):
        episode_assign(
            episode=episode,
            provider=cast.ecm_provider,
            lead_care_manager=cast.lead_care_manager,
            actor=cast.plan_admin,
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_assignments_one_wins(cast, contract, newcomer):
    """Two plan administrators press Assign at the same moment, each on its own
    database connection: one assignment lands, the other gets a conflict."""
    episode = _authorized(cast, newcomer)
    second_admin = UserFactory(
        organization=cast.plan, roles=["plan_admin"], email="second@cast.example"
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def assign(actor, lead):
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            episode_assign(
                episode=Episode.objects.get(pk=episode.pk),
                provider=cast.ecm_provider,
                lead_care_manager=lead,
                actor=actor,
            )
            outcomes.append("assigned")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=assign, args=(cast.plan_admin, cast.colleague)),
        threading.Thread(target=assign, args=(second_admin, cast.lead_care_manager)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["assigned", "conflict"]
    assert EpisodeEvent.objects.filter(episode=episode, action="assign").count() == 1
    connection.close()


def test_reassignment_takes_access_away_from_the_previous_care_manager(cast, contract):
    assert cast.member in access.visible_members(cast.lead_care_manager)
    episode_reassign_lead(
        episode=cast.episode, lead_care_manager=cast.colleague, actor=cast.supervisor
    )
    assert cast.member not in access.visible_members(cast.lead_care_manager)
    assert cast.member in access.visible_members(cast.colleague)


def test_illegal_transitions_are_refused_and_write_nothing(cast, contract, newcomer):
    episode = episode_identify(
        member=newcomer, source="plan_data", actor=cast.plan_admin
    )
    events = episode.events.count()
    with pytest.raises(ValidationError, match="Cannot assign"):
        episode_assign(
            episode=episode,
            provider=cast.ecm_provider,
            lead_care_manager=cast.colleague,
            actor=cast.plan_admin,
        )
    with pytest.raises(ValidationError, match="Cannot enroll"):
        episode_enroll(
            episode=cast.episode,
            consented_on=TODAY(),
            consent_method="verbal",
            actor=cast.lead_care_manager,
        )
    assert episode.events.count() == events


def test_outreach_for_a_member_not_assigned_to_the_caller_is_refused(
    cast, contract, newcomer
):
    episode = _assigned(cast, newcomer)
    with pytest.raises(Http404):
        outreach_record(
            episode=episode,
            attempted_at=timezone.now(),
            method="phone",
            outcome="no_answer",
            minutes=5,
            actor=cast.other_care_manager,
        )
    assert not OutreachAttempt.objects.exists()


def test_bad_outreach_is_refused_with_reasons(cast, contract, newcomer):
    episode = _assigned(cast, newcomer)
    with pytest.raises(ValidationError) as raised:
        outreach_record(
            episode=episode,
            attempted_at=timezone.now() + timedelta(days=2),
            method="carrier_pigeon",
            outcome="maybe",
            minutes=9999,
            actor=cast.colleague,
        )
    assert set(raised.value.message_dict) == {
        "method",
        "outcome",
        "minutes",
        "attempted_at",
    }
    assert not OutreachAttempt.objects.exists()


def test_unable_to_reach_needs_three_attempts_two_methods_thirty_days(
    cast, contract, newcomer
):
    episode = _assigned(cast, newcomer)
    Episode.objects.filter(pk=episode.pk).update(
        assigned_at=timezone.now() - timedelta(days=40)
    )
    episode.refresh_from_db()
    start = timezone.now() - timedelta(days=35)
    for days, method in [(0, "phone"), (10, "phone")]:
        outreach_record(
            episode=episode,
            attempted_at=start + timedelta(days=days),
            method=method,
            outcome="no_answer",
            minutes=5,
            actor=cast.colleague,
        )
    assert outreach_rule_met(episode) == (False, "2 of 3 attempts so far.")
    with pytest.raises(ValidationError, match="Not yet"):
        episode_unable_to_reach(episode=episode, actor=cast.colleague)
    outreach_record(
        episode=episode,
        attempted_at=start + timedelta(days=31),
        method="in_person",
        outcome="not_found",
        minutes=40,
        actor=cast.colleague,
    )
    episode = episode_unable_to_reach(episode=episode, actor=cast.colleague)
    assert episode.status == "unable_to_reach"
    assert episode.discontinuation_reason == "unable_to_reach"


def test_a_member_may_decline(cast, contract, newcomer):
    episode = _assigned(cast, newcomer)
    episode = episode_decline(
        episode=episode, actor=cast.colleague, reason="Does not want services now"
    )
    assert episode.status == "declined"
    assert episode.closed_at is not None


@pytest.mark.parametrize(
    ("mode", "code", "modifiers", "field"),
    [
        ("in_person", "G9012", ["U2", "GQ"], "modifiers"),
        ("telephonic", "G9012", ["U2"], "modifiers"),
        ("in_person", "G9012", ["U8"], "hcpcs_code"),
        ("in_person", "T2040", ["U6"], "hcpcs_code"),
    ],
)
def test_encounter_codes_follow_dhcs_coding(cast, mode, code, modifiers, field):
    with pytest.raises(ValidationError) as raised:
        encounter_record(
            episode=cast.episode,
            occurred_on=TODAY(),
            mode=mode,
            minutes=20,
            hcpcs_code=code,
            modifiers=modifiers,
            actor=cast.lead_care_manager,
        )
    assert field in raised.value.message_dict


def test_the_default_encounter_code_follows_staff_and_mode(cast):
    clinical = encounter_record(
        episode=cast.episode,
        occurred_on=TODAY(),
        mode="in_person",
        minutes=45,
        clinical=True,
        actor=cast.lead_care_manager,
    )
    remote = encounter_record(
        episode=cast.episode,
        occurred_on=TODAY(),
        mode="video",
        minutes=20,
        actor=cast.lead_care_manager,
    )
    assert (clinical.hcpcs_code, clinical.modifiers) == ("G9008", ["U1"])
    assert (remote.hcpcs_code, remote.modifiers) == ("G9012", ["U2", "GQ"])


def test_an_834_termination_ends_the_open_episode(cast):
    from members.services.records import termination_hooks

    end = TODAY() - timedelta(days=1)
    Episode.objects.filter(pk=cast.episode.pk).update(
        enrolled_on=TODAY() - timedelta(days=60)
    )
    span = cast.member.enrollments.get()
    span.end_date = end
    span.save(update_fields=["end_date"])
    for hook in termination_hooks:
        hook(
            member_ids=[cast.member.pk], plan_id=cast.plan.pk, end_date=end, source=None
        )
    cast.episode.refresh_from_db()
    assert cast.episode.status == "discontinued"
    assert cast.episode.discontinuation_reason == "lost_medi_cal"
    assert cast.episode.discontinued_on == end
    assert not cast.episode.notices.exists()  # nobody to send a notice of action to


def test_discontinuing_with_other_needs_a_note(cast):
    with pytest.raises(ValidationError, match="Say why"):
        episode_discontinue(episode=cast.episode, reason="other", actor=cast.supervisor)
    cast.episode.refresh_from_db()
    assert cast.episode.closed_at is None
