"""The care management plan, the care team and conferences: every service rule."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from calaim import access
from calaim.audit.models import AuditEvent
from calaim.errors import ConflictError
from calaim.work.models import Task, TaskStatus
from care_plans.care_plan_selectors import care_plan_goal, plan_content
from care_plans.models import (
    CarePlan,
    CareTeamMember,
    Episode,
    EpisodeEvent,
    Goal,
    Intervention,
    Need,
)
from care_plans.services import (
    REVIEW_TASK,
    care_conference_record,
    care_plan_agree,
    care_plan_review_request,
    care_plan_revise,
    care_plan_start,
    care_team_add,
    care_team_remove,
    goal_add,
    goal_remove,
    goal_update,
    intervention_add,
    need_add,
    need_remove,
)
from members.models import MemberGrant
from members.part2 import part2_disclosure_allowed
from tests.factories import UserFactory

TODAY = timezone.localdate


def _draft(cast, needs=None):
    return care_plan_start(
        episode=cast.episode,
        actor=cast.lead_care_manager,
        needs=needs
        if needs is not None
        else [{"domain": "housing", "description": "No stable place to sleep"}],
    )


def _goal(cast, plan, **overrides):
    plan.refresh_from_db()
    fields = {
        "care_plan": plan,
        "need": plan.needs.first(),
        "description": "I want my own apartment by summer",
        "target_date": TODAY() + timedelta(days=120),
        "actor": cast.lead_care_manager,
        "expected_version": plan.lock_version,
    }
    fields.update(overrides)
    return goal_add(**fields)


def _agreed(cast):
    plan = _draft(cast)
    _goal(cast, plan)
    plan.refresh_from_db()
    return care_plan_agree(
        care_plan=plan,
        agreed_on=TODAY(),
        actor=cast.lead_care_manager,
        expected_version=plan.lock_version,
    )


# --- Starting a plan ------------------------------------------------------------------


def test_start_makes_a_draft_with_the_chosen_suggested_needs(cast):
    plan = _draft(
        cast,
        needs=[
            {
                "domain": "food",
                "description": "Runs out of food",
                "source": "suggested",
                "question": "food_worry",
            },
            {"domain": "transportation", "description": "No ride to clinic"},
        ],
    )

    assert plan.status == CarePlan.Status.DRAFT
    assert plan.number == 1
    assert plan.lock_version == 1
    assert [(n.domain, n.source) for n in plan.needs.all()] == [
        ("food", "suggested"),
        ("transportation", "manual"),
    ]
    assert AuditEvent.objects.filter(object_type="care_plan", action="create").exists()


def test_start_refuses_an_unknown_domain_and_writes_nothing(cast):
    with pytest.raises(ValidationError) as error:
        _draft(cast, needs=[{"domain": "weather", "description": "Too hot"}])

    assert "domain" in error.value.message_dict
    assert not CarePlan.objects.exists()


def test_a_second_draft_is_a_conflict(cast):
    _draft(cast)

    with pytest.raises(ConflictError) as error:
        _draft(cast)

    assert error.value.code == "draft_exists"
    assert CarePlan.objects.count() == 1


def test_start_after_agreement_says_revise(cast):
    _agreed(cast)

    with pytest.raises(ValidationError) as error:
        _draft(cast)

    assert error.value.error_dict["care_plan"][0].code == "plan_exists"


def test_start_is_refused_before_enrollment(cast):
    Episode.objects.filter(pk=cast.episode.pk).update(status=Episode.Status.OUTREACH)
    cast.episode.refresh_from_db()

    with pytest.raises(ValidationError) as error:
        _draft(cast)

    assert error.value.error_dict["episode"][0].code == "episode_not_enrolled"


@pytest.mark.parametrize(
    ("person", "error"),
    [
        ("colleague", Http404),  # same provider, no sight of the member
        ("other_care_manager", Http404),
        ("plan_admin", PermissionDenied),  # sees the member, role lacks it
        ("auditor", PermissionDenied),
        ("provider_admin", PermissionDenied),
    ],
)
def test_only_the_providers_care_staff_start_a_plan(cast, person, error):
    with pytest.raises(error):
        care_plan_start(episode=cast.episode, actor=getattr(cast, person))

    assert not CarePlan.objects.exists()


# --- Needs, goals, interventions ------------------------------------------------------


def test_goal_without_a_need_is_refused(cast):
    plan = _draft(cast)

    with pytest.raises(ValidationError) as error:
        _goal(cast, plan, need=None)

    assert error.value.error_dict["need"][0].code == "need_required"
    assert not Goal.objects.exists()
    plan.refresh_from_db()
    assert plan.lock_version == 1


def test_goal_with_another_plans_need_is_refused(cast, django_user_model):
    plan = _draft(cast)
    foreign = Need(uid=Need._meta.get_field("uid").default(), care_plan=plan)

    with pytest.raises(ValidationError) as error:
        _goal(cast, plan, need=foreign.uid)

    assert error.value.error_dict["need"][0].code == "need_not_in_plan"


def test_goal_with_a_past_target_date_is_refused(cast):
    plan = _draft(cast)

    with pytest.raises(ValidationError) as error:
        _goal(cast, plan, target_date=TODAY() - timedelta(days=1))

    assert "target_date" in error.value.message_dict


def test_every_change_raises_the_version_and_a_stale_one_is_refused(cast):
    plan = _draft(cast)
    goal = _goal(cast, plan)
    plan.refresh_from_db()
    assert plan.lock_version == 2

    with pytest.raises(ConflictError) as error:
        goal_update(
            goal=goal, actor=cast.lead_care_manager, expected_version=1, status="met"
        )

    assert error.value.code == "stale_version"
    goal.refresh_from_db()
    assert goal.status == "not_started"


def test_a_write_without_a_version_is_refused(cast):
    plan = _draft(cast)

    with pytest.raises(ValidationError) as error:
        need_add(
            care_plan=plan,
            domain="food",
            description="Hungry",
            actor=cast.lead_care_manager,
            expected_version=None,
        )

    assert error.value.error_dict["version"][0].code == "required"


def test_need_with_goals_cannot_be_removed(cast):
    plan = _draft(cast)
    goal = _goal(cast, plan)
    plan.refresh_from_db()

    with pytest.raises(ValidationError) as error:
        need_remove(need=goal.need, actor=cast.lead_care_manager, expected_version=2)

    assert error.value.error_dict["need"][0].code == "need_has_goals"
    goal_remove(goal=goal, actor=cast.lead_care_manager, expected_version=2)
    need_remove(need=goal.need, actor=cast.lead_care_manager, expected_version=3)
    assert not Need.objects.exists()


def test_intervention_responsible_party_is_checked(cast):
    plan = _draft(cast)
    goal = _goal(cast, plan)

    with pytest.raises(ValidationError) as error:
        intervention_add(
            goal=goal,
            description="Apply for housing voucher",
            responsible="staff",
            responsible_user=cast.other_care_manager,
            actor=cast.lead_care_manager,
            expected_version=2,
        )
    assert error.value.error_dict["responsible_user"][0].code == "invalid_staff"

    with pytest.raises(ValidationError):
        intervention_add(
            goal=goal,
            description="Call the PCP",
            responsible="care_team",
            actor=cast.lead_care_manager,
            expected_version=2,
        )

    item = intervention_add(
        goal=goal,
        description="Bring ID documents",
        responsible="member",
        due_date=TODAY() + timedelta(days=14),
        actor=cast.lead_care_manager,
        expected_version=2,
    )
    assert item.responsible_label == "The member"
    assert Intervention.objects.count() == 1


# --- Agreement ------------------------------------------------------------------------


def test_agreeing_the_first_plan_makes_the_episode_active_and_opens_a_review(cast):
    plan = _agreed(cast)

    cast.episode.refresh_from_db()
    assert plan.status == CarePlan.Status.AGREED
    assert plan.member_agreed_on == TODAY()
    assert cast.episode.status == Episode.Status.ACTIVE
    event = EpisodeEvent.objects.filter(episode=cast.episode).latest("occurred_at")
    assert (event.action, event.from_status, event.to_status) == (
        "activate",
        "enrolled",
        "active",
    )
    task = Task.objects.get(kind=REVIEW_TASK)
    assert task.owner == cast.lead_care_manager
    assert task.status == TaskStatus.OPEN
    assert timezone.localtime(task.due_at).date() > TODAY() + timedelta(days=170)


def test_agreeing_twice_is_refused(cast):
    plan = _agreed(cast)

    with pytest.raises(ValidationError) as error:
        care_plan_agree(
            care_plan=plan,
            agreed_on=TODAY(),
            actor=cast.lead_care_manager,
            expected_version=plan.lock_version,
        )
    assert error.value.error_dict["care_plan"][0].code == "already_agreed"

    with pytest.raises(ConflictError):  # the form drawn before the agreement
        care_plan_agree(
            care_plan=plan,
            agreed_on=TODAY(),
            actor=cast.lead_care_manager,
            expected_version=plan.lock_version - 1,
        )


@pytest.mark.parametrize(("days", "code"), [(1, "future"), (-400, "before_enrollment")])
def test_agreement_date_is_checked(cast, days, code):
    plan = _draft(cast)
    _goal(cast, plan)

    with pytest.raises(ValidationError) as error:
        care_plan_agree(
            care_plan=plan,
            agreed_on=TODAY() + timedelta(days=days),
            actor=cast.lead_care_manager,
            expected_version=2,
        )

    assert error.value.error_dict["member_agreed_on"][0].code == code
    cast.episode.refresh_from_db()
    assert cast.episode.status == Episode.Status.ENROLLED


def test_a_plan_without_goals_cannot_be_agreed(cast):
    plan = _draft(cast)

    with pytest.raises(ValidationError) as error:
        care_plan_agree(
            care_plan=plan,
            agreed_on=TODAY(),
            actor=cast.lead_care_manager,
            expected_version=1,
        )

    assert error.value.error_dict["goals"][0].code == "no_goals"


def test_agreed_plan_changes_only_progress(cast):
    plan = _agreed(cast)
    goal = plan.goals.get()

    goal_update(
        goal=goal,
        actor=cast.lead_care_manager,
        expected_version=plan.lock_version,
        status="in_progress",
    )
    goal.refresh_from_db()
    assert goal.status == "in_progress"

    with pytest.raises(ValidationError) as error:
        goal_update(
            goal=goal,
            actor=cast.lead_care_manager,
            expected_version=plan.lock_version + 1,
            description="Something else",
        )
    assert error.value.error_dict["care_plan"][0].code == "not_draft"


# --- Revision -------------------------------------------------------------------------


def test_revision_copies_with_the_same_uids_and_supersedes_on_agreement(cast):
    draft = _draft(cast)
    goal = _goal(cast, draft)
    item = intervention_add(
        goal=goal,
        description="Weekly check-in call",
        responsible="member",
        actor=cast.lead_care_manager,
        expected_version=2,
    )
    first = care_plan_agree(
        care_plan=draft,
        agreed_on=TODAY(),
        actor=cast.lead_care_manager,
        expected_version=3,
    )

    second = care_plan_revise(
        care_plan=first,
        actor=cast.lead_care_manager,
        expected_version=first.lock_version,
    )

    assert second.number == 2
    assert second.status == CarePlan.Status.DRAFT
    assert list(second.goals.values_list("uid", flat=True)) == [goal.uid]
    assert list(second.needs.values_list("uid", flat=True)) == [goal.need.uid]
    copied = Intervention.objects.get(goal__care_plan=second)
    assert (copied.uid, copied.description) == (item.uid, item.description)
    # The agreed version stays in force until the revision is agreed.
    assert care_plan_goal(member=cast.member, goal_uid=goal.uid).care_plan == first
    with pytest.raises(ConflictError):
        care_plan_revise(
            care_plan=first,
            actor=cast.lead_care_manager,
            expected_version=first.lock_version,
        )

    care_plan_agree(
        care_plan=second,
        agreed_on=TODAY(),
        actor=cast.lead_care_manager,
        expected_version=second.lock_version,
    )

    first.refresh_from_db()
    assert first.status == CarePlan.Status.SUPERSEDED
    assert care_plan_goal(member=cast.member, goal_uid=goal.uid).care_plan == second
    reviews = Task.objects.filter(kind=REVIEW_TASK)
    assert reviews.filter(status=TaskStatus.OPEN).get().source_id == str(second.pk)
    assert reviews.filter(status=TaskStatus.DONE).get().source_id == str(first.pk)
    cast.episode.refresh_from_db()
    activations = EpisodeEvent.objects.filter(episode=cast.episode, action="activate")
    assert activations.count() == 1


def test_care_plan_goal_is_none_for_an_unknown_uid(cast):
    _agreed(cast)

    assert care_plan_goal(member=cast.member, goal_uid="not-a-uuid") is None
    assert (
        care_plan_goal(
            member=cast.member, goal_uid="00000000-0000-0000-0000-000000000000"
        )
        is None
    )


# --- Review requests (the contract for transitions) -----------------------------------


def test_review_request_is_idempotent_per_source(cast):
    first = care_plan_review_request(
        episode=cast.episode,
        reason="Inpatient discharge",
        source=("transitions.transition", "17"),
        actor=cast.plan_admin,
    )
    again = care_plan_review_request(
        episode=cast.episode,
        reason="Inpatient discharge",
        source=("transitions.transition", "17"),
        actor=cast.plan_admin,
    )
    other = care_plan_review_request(
        episode=cast.episode,
        reason="Another discharge",
        source=("transitions.transition", "18"),
        actor=cast.plan_admin,
        due_on=TODAY() + timedelta(days=2),
    )

    assert first.pk == again.pk
    assert other.pk != first.pk
    assert first.owner == cast.lead_care_manager
    assert first.kind == REVIEW_TASK
    assert Task.objects.filter(kind=REVIEW_TASK).count() == 2


def test_agreeing_a_plan_answers_open_review_requests(cast):
    care_plan_review_request(
        episode=cast.episode,
        reason="Inpatient discharge",
        source=("transitions.transition", "5"),
        actor=cast.plan_admin,
    )

    _agreed(cast)

    request = Task.objects.get(source_id="5")
    assert request.status == TaskStatus.DONE


# --- Concurrent edits -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sessions_saving_the_same_version_one_wins_one_conflicts():
    from tests.cast import build_cast

    cast = build_cast()
    plan = _draft(cast)
    goal = _goal(cast, plan)
    plan.refresh_from_db()
    version = plan.lock_version
    barrier = threading.Barrier(2)
    outcomes = []

    def save(status):
        try:
            barrier.wait()
            goal_update(
                goal=Goal.objects.get(pk=goal.pk),
                actor=cast.lead_care_manager,
                expected_version=version,
                status=status,
            )
            outcomes.append("saved")
        except ConflictError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(s,)) for s in ("met", "not_met")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["saved", "stale_version"]
    plan.refresh_from_db()
    assert plan.lock_version == version + 1


# --- Part 2 ---------------------------------------------------------------------------


def test_part2_goals_are_withheld_outside_the_treating_team(cast):
    plan = _draft(cast)
    _goal(cast, plan)
    plan.refresh_from_db()
    _goal(
        cast,
        plan,
        description="Stay in my recovery program",
        part2=True,
        expected_version=plan.lock_version,
    )

    assert part2_disclosure_allowed(cast.lead_care_manager, cast.member)
    assert not part2_disclosure_allowed(cast.plan_admin, cast.member)
    shown = plan_content(plan, part2_allowed=False)
    assert shown.withheld == 1
    assert [goal.part2 for goal in shown.goals] == [False]
    full = plan_content(plan, part2_allowed=True)
    assert full.shows_part2
    assert len(full.goals) == 2


# --- Care team ------------------------------------------------------------------------


def test_adding_a_colleague_grants_access_and_removing_revokes_it(cast):
    assert not access.member_is_visible(cast.colleague, cast.member.pk)

    row = care_team_add(
        episode=cast.episode,
        role="chw",
        user=cast.colleague,
        until=TODAY() + timedelta(days=30),
        actor=cast.supervisor,
    )

    grant = MemberGrant.objects.get(user=cast.colleague)
    assert grant.kind == MemberGrant.Kind.CARE_TEAM
    assert access.member_is_visible(cast.colleague, cast.member.pk)
    assert part2_disclosure_allowed(cast.colleague, cast.member)
    assert row.access_until == grant.expires_at

    care_team_remove(team_member=row, actor=cast.supervisor)

    assert not access.member_is_visible(cast.colleague, cast.member.pk)
    assert not part2_disclosure_allowed(cast.colleague, cast.member)
    row.refresh_from_db()
    assert row.removed_at is not None


def test_a_care_manager_cannot_grant_access_through_the_team(cast):
    with pytest.raises(PermissionDenied):
        care_team_add(
            episode=cast.episode,
            role="chw",
            user=cast.colleague,
            actor=cast.lead_care_manager,
        )

    assert not CareTeamMember.objects.exists()
    assert not MemberGrant.objects.exists()


def test_colleague_must_work_for_the_provider(cast):
    with pytest.raises(ValidationError) as error:
        care_team_add(
            episode=cast.episode,
            role="nurse",
            user=cast.other_care_manager,
            actor=cast.supervisor,
        )

    assert error.value.error_dict["user"][0].code == "invalid_staff"
    assert not MemberGrant.objects.exists()


def test_outside_contact_needs_a_way_to_reach_them(cast):
    with pytest.raises(ValidationError) as error:
        care_team_add(
            episode=cast.episode,
            role="pcp",
            name="Dr. Synthetic Example",
            actor=cast.lead_care_manager,
        )
    assert "phone" in error.value.message_dict

    row = care_team_add(
        episode=cast.episode,
        role="pcp",
        name="Dr. Synthetic Example",
        organization_name="Example Clinic",
        phone="619-555-0100",
        actor=cast.lead_care_manager,
    )
    assert row.kind == CareTeamMember.Kind.CONTACT
    assert not MemberGrant.objects.exists()


def test_the_same_colleague_twice_is_refused(cast):
    care_team_add(
        episode=cast.episode, role="chw", user=cast.colleague, actor=cast.supervisor
    )

    with pytest.raises(ValidationError) as error:
        care_team_add(
            episode=cast.episode,
            role="nurse",
            user=cast.colleague,
            actor=cast.supervisor,
        )

    assert error.value.error_dict["user"][0].code == "duplicate"


def test_conference_dates_are_checked(cast):
    with pytest.raises(ValidationError) as error:
        care_conference_record(
            episode=cast.episode,
            held_on=TODAY() + timedelta(days=1),
            attendees="Lead care manager, member",
            actor=cast.lead_care_manager,
        )
    assert "held_on" in error.value.message_dict

    conference = care_conference_record(
        episode=cast.episode,
        held_on=TODAY(),
        attendees="Lead care manager, member, PCP",
        actor=cast.lead_care_manager,
    )
    assert conference.member_id == cast.member.pk


def test_staff_of_another_provider_cannot_keep_the_team(cast):
    stranger = UserFactory(organization=cast.other_ecm_provider, roles=["supervisor"])

    with pytest.raises(Http404):
        care_conference_record(
            episode=cast.episode,
            held_on=TODAY(),
            attendees="Someone",
            actor=stranger,
        )


def test_closing_the_episode_ends_the_care_teams_access(cast):
    from care_plans.services import episode_discontinue

    care_team_add(
        episode=cast.episode, role="chw", user=cast.colleague, actor=cast.supervisor
    )
    assert access.member_is_visible(cast.colleague, cast.member.pk)

    episode_discontinue(episode=cast.episode, reason="goals_met", actor=cast.supervisor)

    assert not access.member_is_visible(cast.colleague, cast.member.pk)
    assert CareTeamMember.objects.get().removed_at is not None
