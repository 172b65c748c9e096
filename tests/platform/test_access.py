"""The access registry: who sees the cast member, computed in SQL."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from calaim import access
from calaim.audit.models import AuditEvent
from members.access import access_member
from members.models import MemberGrant
from members.services import member_access_grant, member_break_glass
from tests.factories import EpisodeFactory, MemberFactory

SEES_THE_CHART = {
    "lead_care_manager",
    "supervisor",
    "provider_admin",
    "plan_admin",
    "auditor",
    "provider_api",
}
SEES_THE_REFERRAL_ONLY = {"cs_provider"}


def _visible(cast, who, scope=access.CHART):
    return set(access.visible_members(getattr(cast, who), scope=scope))


@pytest.mark.parametrize(
    "who",
    [
        "lead_care_manager",
        "colleague",
        "supervisor",
        "provider_admin",
        "other_care_manager",
        "plan_admin",
        "other_plan_admin",
        "cs_provider",
        "other_cs_provider",
        "auditor",
        "provider_api",
        "hospital_feed",
    ],
)
def test_chart_visibility_follows_responsibility(cast, who):
    visible = _visible(cast, who)
    assert (cast.member in visible) == (who in SEES_THE_CHART)
    # Only the other plan's admin is responsible for the other member.
    assert (cast.other_member in visible) == (who == "other_plan_admin")


@pytest.mark.parametrize("who", ["cs_provider", "other_cs_provider", "colleague"])
def test_referral_scope_opens_only_to_the_receiving_provider(cast, who):
    assert (cast.member in _visible(cast, who, access.REFERRAL)) == (
        who == "cs_provider"
    )
    assert cast.member not in _visible(cast, who, access.CHART)


def test_anonymous_and_inactive_users_see_nothing(cast):
    from django.contrib.auth.models import AnonymousUser

    assert not access.visible_members(AnonymousUser()).exists()
    cast.lead_care_manager.is_active = False
    assert not access.visible_members(cast.lead_care_manager).exists()


def test_visible_members_is_one_query(cast, django_assert_num_queries):
    user = cast.supervisor
    user.role_names  # noqa: B018 (roles are read once per user object, then cached)
    with django_assert_num_queries(1):
        assert list(access.visible_members(user)) == [cast.member]


def test_closing_the_episode_ends_the_lead_care_managers_access(cast):
    cast.episode.closed_at = timezone.now()
    cast.episode.save(update_fields=["closed_at"])
    assert cast.member not in _visible(cast, "lead_care_manager")
    assert cast.member not in _visible(cast, "supervisor")
    assert cast.member in _visible(
        cast, "plan_admin"
    )  # ever enrolled: still the plan's


def test_reassigning_moves_access_to_the_new_lead_care_manager(cast):
    cast.episode.lead_care_manager = cast.colleague
    cast.episode.save(update_fields=["lead_care_manager"])
    assert cast.member in _visible(cast, "colleague")
    assert cast.member not in _visible(cast, "lead_care_manager")


def test_a_member_of_another_provider_is_not_visible_to_our_supervisor(cast):
    stranger = MemberFactory()
    EpisodeFactory(
        member=stranger,
        ecm_provider=cast.other_ecm_provider,
        lead_care_manager=cast.other_care_manager,
    )
    assert stranger not in _visible(cast, "supervisor")
    assert stranger in _visible(cast, "other_care_manager")


def test_access_member_answers_404_for_forbidden_and_missing_alike(cast):
    import uuid

    with pytest.raises(Http404):
        access_member(cast.colleague, cast.member.uuid)
    with pytest.raises(Http404):
        access_member(cast.lead_care_manager, uuid.uuid4())
    with pytest.raises(Http404):
        access_member(cast.lead_care_manager, "not-a-uuid")
    assert access_member(cast.lead_care_manager, cast.member.uuid) == cast.member
    assert access_member(cast.lead_care_manager, str(cast.member.uuid)) == cast.member


def test_access_member_outside_a_request_writes_an_audit_event(cast):
    access_member(cast.plan_admin, cast.member.uuid)
    event = AuditEvent.objects.get()
    assert event.action == "view"
    assert event.member_ids == [cast.member.pk]
    assert event.actor_id == cast.plan_admin.pk
    assert event.organization_id == cast.plan.pk


def test_a_covering_grant_opens_the_member_until_it_expires(cast):
    expires = timezone.now() + timedelta(days=14)
    grant = member_access_grant(
        member=cast.member,
        user=cast.colleague,
        kind=MemberGrant.Kind.COVERING,
        reason="Covering Carmen's caseload during leave",
        expires_at=expires,
        actor=cast.supervisor,
    )
    assert cast.member in _visible(cast, "colleague")
    event = AuditEvent.objects.get(action="grant")
    assert event.member_ids == [cast.member.pk]
    assert event.actor_id == cast.supervisor.pk

    MemberGrant.objects.filter(pk=grant.pk).update(
        granted_at=timezone.now() - timedelta(days=2),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert cast.member not in _visible(cast, "colleague")


def test_granting_needs_the_role_and_sight_of_the_member(cast):
    expires = timezone.now() + timedelta(days=1)
    kwargs = {
        "member": cast.member,
        "user": cast.colleague,
        "kind": "covering",
        "reason": "Covering during a week of leave",
        "expires_at": expires,
    }
    with pytest.raises(PermissionDenied):
        member_access_grant(actor=cast.lead_care_manager, **kwargs)  # role lacks it
    with pytest.raises(PermissionDenied):
        member_access_grant(actor=cast.other_plan_admin, **kwargs)  # cannot see member
    assert not MemberGrant.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "short"}, "reason"),
        ({"expires_at": "past"}, "expires_at"),
        ({"expires_at": "too_long"}, "expires_at"),
        ({"kind": "break_glass"}, "kind"),
    ],
)
def test_bad_grants_are_refused_with_a_reason_and_write_nothing(cast, change, field):
    now = timezone.now()
    kwargs = {
        "member": cast.member,
        "user": cast.colleague,
        "kind": "covering",
        "reason": "Covering during a week of leave",
        "expires_at": now + timedelta(days=3),
        "actor": cast.supervisor,
    }
    kwargs.update(change)
    if kwargs["expires_at"] == "past":
        kwargs["expires_at"] = now - timedelta(minutes=1)
    if kwargs["expires_at"] == "too_long":
        kwargs["expires_at"] = now + timedelta(days=400)
    with pytest.raises(ValidationError) as raised:
        member_access_grant(**kwargs)
    assert field in raised.value.message_dict
    assert not MemberGrant.objects.exists()


def test_machines_cannot_be_granted_access(cast):
    with pytest.raises(ValidationError):
        member_access_grant(
            member=cast.member,
            user=cast.hospital_feed,
            kind="care_team",
            reason="The hospital wants to see everything",
            actor=cast.supervisor,
            expires_at=timezone.now() + timedelta(days=1),
        )


def test_break_glass_is_short_lived_reasoned_and_audited(cast):
    grant = member_break_glass(
        member=cast.member,
        user=cast.other_care_manager,
        reason="Member in crisis at our clinic; lead care manager unreachable",
    )
    assert cast.member in _visible(cast, "other_care_manager")
    assert grant.expires_at <= timezone.now() + timedelta(hours=4, minutes=1)
    event = AuditEvent.objects.get(action="break_glass")
    assert "crisis" in event.reason
    with pytest.raises(PermissionDenied):
        member_break_glass(
            member=cast.member,
            user=cast.plan_admin,
            reason="Just curious about this one",
        )


def test_regranting_replaces_the_grant_and_the_audit_keeps_the_old_one(cast):
    now = timezone.now()
    for days in (3, 10):
        member_access_grant(
            member=cast.member,
            user=cast.colleague,
            kind="covering",
            reason=f"Covering for {days} days of leave",
            actor=cast.supervisor,
            expires_at=now + timedelta(days=days),
        )
    assert MemberGrant.objects.count() == 1
    events = list(AuditEvent.objects.filter(action="grant").order_by("id"))
    assert len(events) == 2
    assert "replaces covering until" in events[1].reason


def test_require_permission_raises_403(cast):
    with pytest.raises(PermissionDenied):
        access.require_permission(cast.lead_care_manager, "audit.view_auditevent")
    access.require_permission(cast.auditor, "audit.view_auditevent")
