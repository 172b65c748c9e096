"""Writes for members: explicit access grants (the members issue adds the rest)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from calaim import access as registry
from calaim.audit.services import audit_record
from members.models import Member, MemberGrant

MAX_GRANT = {
    MemberGrant.Kind.COVERING: timedelta(days=90),
    MemberGrant.Kind.CARE_TEAM: timedelta(days=365),
    MemberGrant.Kind.BREAK_GLASS: timedelta(
        hours=getattr(settings, "BREAK_GLASS_HOURS", 4)
    ),
}


def _view_permission():
    return Permission.objects.get(
        content_type__app_label="members", codename="view_member"
    )


@transaction.atomic
def member_access_grant(
    *, member: Member, user, kind: str, reason: str, expires_at, actor
):
    """Give `user` access to `member` until `expires_at`, for a stated reason.

    The actor must see the member and hold grant_member_access; the grantee must be
    an active person in an organization (not a machine). A grant already held is
    extended or shortened, and the audit trail keeps what it was before.
    """
    registry.require_permission(actor, "members.grant_member_access")
    if not registry.visible_members(actor).filter(pk=member.pk).exists():
        raise PermissionDenied("You can only grant access to members you can see.")
    if kind == MemberGrant.Kind.BREAK_GLASS:
        raise ValidationError({"kind": "Break-glass access is taken, not granted."})
    return _grant(
        member=member,
        user=user,
        kind=kind,
        reason=reason,
        expires_at=expires_at,
        actor=actor,
        action="grant",
    )


@transaction.atomic
def member_break_glass(*, member: Member, user, reason: str):
    """Open a member's record in an emergency: short-lived, with a reason, audited."""
    registry.require_permission(user, "members.break_glass")
    expires_at = timezone.now() + MAX_GRANT[MemberGrant.Kind.BREAK_GLASS]
    return _grant(
        member=member,
        user=user,
        kind=MemberGrant.Kind.BREAK_GLASS,
        reason=reason,
        expires_at=expires_at,
        actor=user,
        action="break_glass",
    )


def member_access_revoke(
    *, member_id: int, user_id: int, kind: str, actor, reason: str
) -> bool:
    """End a user's live grant of `kind` on a member now (the row stays: expiry is
    history, not deletion); audited when there was one. Returns whether one ended."""
    now = timezone.now()
    ended = MemberGrant.objects.filter(
        user_id=user_id,
        content_object_id=member_id,
        kind=kind,
        expires_at__gt=now,
    ).update(expires_at=now)
    if ended:
        audit_record(
            action="update",
            object_type="member_grant",
            member_ids=[member_id],
            actor=actor,
            reason=f"{kind} grant of user {user_id} {reason}",
        )
    return bool(ended)


def _grant(*, member, user, kind, reason, expires_at, actor, action):
    now = timezone.now()
    reason = (reason or "").strip()
    errors = {}
    if kind not in MemberGrant.Kind.values:
        errors["kind"] = f"Unknown kind of grant: {kind!r}."
    if len(reason) < 10:
        errors["reason"] = "Say why, in at least 10 characters."
    if expires_at is None or expires_at <= now:
        errors["expires_at"] = "The grant must end in the future."
    elif kind in MAX_GRANT and expires_at > now + MAX_GRANT[kind] + timedelta(
        minutes=1
    ):
        errors["expires_at"] = f"A {kind} grant lasts at most {MAX_GRANT[kind]}."
    if not user.is_active or user.is_service_account or user.organization_id is None:
        errors["user"] = (
            "Access can only be granted to an active person in an organization."
        )
    if errors:
        raise ValidationError(errors)
    grant, created = MemberGrant.objects.select_for_update().get_or_create(
        user=user,
        permission=_view_permission(),
        content_object=member,
        defaults={
            "kind": kind,
            "reason": reason,
            "granted_by": actor,
            "granted_at": now,
            "expires_at": expires_at,
        },
    )
    previous = ""
    if not created:
        previous = f" (replaces {grant.kind} until {grant.expires_at.isoformat()})"
        grant.kind, grant.reason, grant.granted_by = kind, reason, actor
        grant.granted_at, grant.expires_at = now, expires_at
        grant.save(
            update_fields=["kind", "reason", "granted_by", "granted_at", "expires_at"]
        )
    audit_record(
        action=action,
        object_type="member_grant",
        object_id=str(grant.pk),
        member_ids=[member.pk],
        actor=actor,
        reason=(
            f"{kind} for user {user.pk} until {expires_at.isoformat()}: "
            f"{reason}{previous}"
        ),
    )
    return grant
