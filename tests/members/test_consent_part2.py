"""42 CFR Part 2: who may be shown a member's substance use content (members.part2).

The treating care team comes from rules that upper apps register; these tests
register their own (the lead care manager of the open episode, as the care plan
app does) to prove the registry, and remove it afterwards. A consent covering
Part 2 and naming an organization opens the content to that organization's
people and its API client, while in effect: not before its start, not after its
end, not once revoked.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from calaim.accounts.models import User
from calaim.audit.context import PendingEvent, current_event
from calaim.audit.models import AuditEvent
from care_plans.models import Episode
from members import part2
from members.models import ConsentKind
from members.services import consent_record, consent_revoke
from tests import factories

RULE = "test_lead_care_manager"


@pytest.fixture
def treating_rule():
    """The lead care manager of the member's open episode is on the treating team."""

    @part2.register_treating_rule(RULE)
    def _lead(user):
        if user.is_service_account:
            return None
        return Episode.objects.filter(
            lead_care_manager_id=user.pk, closed_at__isnull=True
        ).values("member_id")

    yield _lead
    part2.unregister_treating_rule(RULE)


@pytest.fixture(autouse=True)
def _only_the_test_rules():
    """Rules other apps registered stay out of these tests (and come back after)."""
    saved = part2.treating_rules()
    part2._treating_rules.clear()
    yield
    part2._treating_rules.clear()
    part2._treating_rules.update(saved)


def consent_for(cast, organization, **overrides):
    today = timezone.localdate()
    arguments = {
        "member": cast.member,
        "kind": ConsentKind.PART2,
        "scope_categories": ["substance_use"],
        "recipient_organizations": [organization],
        "purpose": "Care coordination",
        "start_date": today,
        "end_date": today + timedelta(days=90),
        "verbal_attestation": True,
        "actor": cast.plan_admin,
    }
    arguments.update(overrides)
    return consent_record(**arguments)


def allowed(cast):
    """Who in the cast may see the member's Part 2 content, by name."""
    return {
        name
        for name, user in cast.users.items()
        if part2.part2_disclosure_allowed(User.objects.get(pk=user.pk), cast.member)
    }


def test_nobody_without_a_treating_rule_or_a_consent(cast):
    assert allowed(cast) == set()
    assert list(part2.part2_visible_member_ids(cast.lead_care_manager)) == []


def test_the_treating_team_comes_from_the_registered_rules(cast, treating_rule):
    assert RULE in part2.treating_rules()
    assert allowed(cast) == {"lead_care_manager"}
    ids = part2.part2_visible_member_ids(cast.lead_care_manager)
    assert {row["member_id"] for row in ids} == {cast.member.pk}
    # The plan sees the chart, but is not on the treating team.
    assert not part2.part2_disclosure_allowed(cast.plan_admin, cast.member)


def test_a_closed_episode_takes_the_lead_off_the_treating_team(cast, treating_rule):
    Episode.objects.filter(pk=cast.episode.pk).update(closed_at=timezone.now())
    assert allowed(cast) == set()


def test_a_consent_opens_the_content_to_the_named_organization(cast, treating_rule):
    consent_for(cast, cast.ecm_provider)
    # Everyone of the ECM provider, its API client included; nobody else.
    assert allowed(cast) == {
        "lead_care_manager",
        "colleague",
        "supervisor",
        "provider_admin",
        "provider_api",
    }


def test_a_consent_for_another_organization_does_not(cast):
    consent_for(cast, cast.other_ecm_provider)
    assert allowed(cast) == {"other_care_manager"}
    assert not part2.part2_disclosure_allowed(cast.provider_api, cast.member)


def test_a_consent_naming_the_plan_covers_the_plan(cast):
    consent_for(cast, cast.plan)
    assert allowed(cast) == {"plan_admin", "auditor", "interface_admin"}


def test_revocation_ends_the_disclosure(cast):
    consent = consent_for(cast, cast.ecm_provider)
    assert part2.part2_disclosure_allowed(cast.provider_api, cast.member)
    consent_revoke(consent=consent, reason="Member revoked", actor=cast.supervisor)
    assert not part2.part2_disclosure_allowed(cast.provider_api, cast.member)
    assert list(part2.part2_visible_member_ids(cast.provider_api)) == []


def test_expiry_ends_the_disclosure(cast):
    today = timezone.localdate()
    consent_for(
        cast,
        cast.ecm_provider,
        start_date=today - timedelta(days=30),
        end_date=today - timedelta(days=1),
    )
    assert not part2.part2_disclosure_allowed(cast.supervisor, cast.member)
    # On its last day it still covers.
    consent_for(
        cast, cast.ecm_provider, start_date=today - timedelta(days=5), end_date=today
    )
    assert part2.part2_disclosure_allowed(cast.supervisor, cast.member)


def test_a_consent_not_yet_started_does_not_cover(cast):
    tomorrow = timezone.localdate() + timedelta(days=1)
    consent_for(cast, cast.ecm_provider, start_date=tomorrow)
    assert not part2.part2_disclosure_allowed(cast.supervisor, cast.member)


def test_an_event_bound_consent_covers_until_revoked(cast):
    consent = consent_for(
        cast, cast.ecm_provider, end_date=None, end_event="End of ECM enrollment"
    )
    assert part2.part2_disclosure_allowed(cast.supervisor, cast.member)
    consent_revoke(consent=consent, reason="ECM ended", actor=cast.supervisor)
    assert not part2.part2_disclosure_allowed(cast.supervisor, cast.member)


def test_an_ascmi_form_covers_part2_only_when_its_scope_includes_substance_use(cast):
    consent_for(
        cast,
        cast.ecm_provider,
        kind=ConsentKind.ASCMI_AB133,
        scope_categories=["mental_health", "physical_health"],
    )
    assert not part2.part2_disclosure_allowed(cast.supervisor, cast.member)
    consent_for(
        cast, cast.ecm_provider, kind=ConsentKind.ASCMI_AB133, scope_categories=["all"]
    )
    assert part2.part2_disclosure_allowed(cast.supervisor, cast.member)


def test_the_consent_is_the_members_own(cast):
    consent_for(cast, cast.ecm_provider)
    assert not part2.part2_disclosure_allowed(cast.supervisor, cast.other_member)


def test_anonymous_and_inactive_users_never(cast, treating_rule):
    from django.contrib.auth.models import AnonymousUser

    consent_for(cast, cast.ecm_provider)
    assert not part2.part2_disclosure_allowed(AnonymousUser(), cast.member)
    cast.lead_care_manager.is_active = False
    assert not part2.part2_disclosure_allowed(cast.lead_care_manager, cast.member)


def test_the_answer_takes_one_query(cast, treating_rule, django_assert_num_queries):
    consent_for(cast, cast.ecm_provider)
    user = User.objects.get(pk=cast.lead_care_manager.pk)
    user.role_names  # noqa: B018  (a rule may ask the roles; read once per user)
    with django_assert_num_queries(1):
        assert part2.part2_disclosure_allowed(user, cast.member)
    with django_assert_num_queries(1):
        assert not part2.part2_disclosure_allowed(user, cast.other_member)


def test_visible_member_ids_is_one_query_for_a_list(
    cast, treating_rule, django_assert_num_queries
):
    members = [factories.MemberFactory() for _ in range(3)]
    for member in members:
        factories.ConsentFactory(member=member, recipients=[cast.ecm_provider])
    factories.ConsentFactory(
        member=factories.MemberFactory(), recipients=[cast.other_ecm_provider]
    )
    with django_assert_num_queries(1):
        ids = {
            row["member_id"]
            for row in part2.part2_visible_member_ids(cast.lead_care_manager)
        }
    assert ids == {cast.member.pk, *(member.pk for member in members)}


def test_withholding_is_audited_as_its_own_event(cast):
    part2.part2_withheld(
        user=cast.provider_api, member=cast.member, what="assessment_answers"
    )
    event = AuditEvent.objects.get(object_type="part2_withheld")
    assert event.action == "view"
    assert event.actor_id == cast.provider_api.pk
    assert event.organization_id == cast.ecm_provider.pk
    assert event.member_ids == [cast.member.pk]
    assert event.object_id == str(cast.member.uuid)
    assert "assessment_answers" in event.reason


def test_withholding_inside_a_request_is_not_folded_into_its_event(cast):
    pending = PendingEvent(request_id="request-0001")
    token = current_event.set(pending)
    try:
        part2.part2_withheld(user=cast.supervisor, member=cast.member, what="goals")
    finally:
        current_event.reset(token)
    event = AuditEvent.objects.get(object_type="part2_withheld")
    assert event.request_id == ""  # the request id var is not set in this test
    assert pending.action == ""  # the request's own event is untouched


def test_the_redisclosure_notice_is_the_regulations_text():
    assert part2.REDISCLOSURE_NOTICE == (
        "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
    )
    assert "42 CFR 2.31" in part2.REDISCLOSURE_NOTICE_FULL
