"""The member's care team and care conferences.

A staff colleague on the team is given an explicit, expiring access grant
(members.services.member_access_grant, kind care_team) until the episode's
authorization ends or a chosen date, whichever the caller gives; removing them
revokes it. Granting access needs the grant permission (supervisors and
provider administrators); anyone on the provider's care staff adds outside
contacts and records conferences.
"""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from care_plans.models import (
    STAFF_TEAM_ROLES,
    CareConference,
    CareTeamMember,
    CareTeamRole,
    Episode,
)
from members.models import MemberGrant
from members.services import member_access_grant, member_access_revoke
from members.services.grants import MAX_GRANT


def _invalid(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _require_provider_staff(actor, episode: Episode, permission: str) -> None:
    if not registry.member_is_visible(actor, episode.member_id):
        raise Http404("No such member.")
    registry.require_permission(actor, permission)
    if actor.organization_id is None or actor.organization_id != (
        episode.ecm_provider_id
    ):
        raise PermissionDenied("Only the member's ECM provider keeps the care team.")
    if not episode.is_open:
        raise _invalid("episode", "The ECM episode is closed.", "episode_closed")


def _end_of(day: date):
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _access_until(episode: Episode, until: date | None):
    """The grant's expiry: the chosen day, else the end of the episode's
    authorization, never past the longest care-team grant."""
    today = timezone.localdate()
    if until is not None and until < today:
        raise _invalid("until", "Access must end in the future.", "past_date")
    day = until or episode.authorized_through
    longest = timezone.now() + MAX_GRANT[MemberGrant.Kind.CARE_TEAM]
    if day is None or day < today:
        return longest
    return min(_end_of(day), longest)


@transaction.atomic
def care_team_add(
    *,
    episode: Episode,
    role: str,
    actor,
    user=None,
    name: str = "",
    organization_name: str = "",
    phone: str = "",
    email: str = "",
    until: date | None = None,
) -> CareTeamMember:
    """Add a staff colleague (`user`) or an outside contact (`name` and details)
    to the member's care team.

    A colleague must be an active person of the ECM provider in a staff role;
    they are given access to the member by an explicit care-team grant (the
    actor needs the grant permission: 403 otherwise). The same colleague twice
    is refused.
    """
    _require_provider_staff(actor, episode, "care_plans.add_careteammember")
    if role not in CareTeamRole.values:
        raise _invalid("role", f"Unknown role {role!r}.", "invalid_choice")
    now = timezone.now()
    row = CareTeamMember(
        member_id=episode.member_id,
        episode=episode,
        role=role,
        added_by=actor,
        added_at=now,
    )
    if user is not None:
        if name.strip():
            raise _invalid(
                "name", "A colleague's name comes from their account.", "both_given"
            )
        if role not in STAFF_TEAM_ROLES:
            raise _invalid("role", "That role is for outside contacts.", "staff_role")
        if (
            not user.is_active
            or user.is_service_account
            or user.organization_id != episode.ecm_provider_id
            or not user.has_role(roles.CARE_MANAGER, roles.SUPERVISOR)
        ):
            raise _invalid(
                "user",
                "Choose an active colleague of the member's ECM provider.",
                "invalid_staff",
            )
        if user.pk == episode.lead_care_manager_id:
            raise _invalid(
                "user", "The lead care manager is on the team already.", "lead"
            )
        row.kind = CareTeamMember.Kind.STAFF
        row.user = user
        row.access_until = _access_until(episode, until)
    else:
        name = name.strip()
        if not name:
            raise _invalid("name", "Give the contact's name.", "required")
        if not (phone.strip() or email.strip()):
            raise _invalid(
                "phone", "Give a phone number or an e-mail address.", "no_contact"
            )
        row.kind = CareTeamMember.Kind.CONTACT
        row.name = name[:200]
        row.organization_name = organization_name.strip()[:200]
        row.phone = phone.strip()[:30]
        row.email = email.strip()
        if row.email:
            from django.core.validators import validate_email

            try:
                validate_email(row.email)
            except ValidationError as error:
                raise _invalid(
                    "email", "Enter a valid e-mail address.", "invalid"
                ) from error
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as duplicate:
        raise _invalid(
            "user", "That colleague is on the care team already.", "duplicate"
        ) from duplicate
    if row.user_id is not None:
        member_access_grant(
            member=episode.member,
            user=user,
            kind=MemberGrant.Kind.CARE_TEAM,
            reason=f"On the care team ({row.get_role_display()})",
            expires_at=row.access_until,
            actor=actor,
        )
    audit_record(
        action="create",
        object_type="care_team_member",
        object_id=str(row.uuid),
        member_ids=[episode.member_id],
        actor=actor,
        reason=f"{row.kind} {row.role}",
    )
    return row


@transaction.atomic
def care_team_remove(*, team_member: CareTeamMember, actor) -> CareTeamMember:
    """Take someone off the care team; a colleague's care-team grant ends now.

    Interventions they are responsible for stay (the record of the plan) and
    show them as no longer on the team.
    """
    episode = team_member.episode
    _require_provider_staff(actor, episode, "care_plans.delete_careteammember")
    row = CareTeamMember.objects.select_for_update().get(pk=team_member.pk)
    if row.removed_at is not None:
        raise _invalid(
            "team_member", "They were already taken off the team.", "removed"
        )
    if row.user_id is not None and not actor.has_perm("members.grant_member_access"):
        raise PermissionDenied("Your role does not change who has access.")
    now = timezone.now()
    row.removed_at = now
    row.removed_by = actor
    row.save(update_fields=["removed_at", "removed_by", "updated_at"])
    if row.user_id is not None:
        member_access_revoke(
            member_id=row.member_id,
            user_id=row.user_id,
            kind=MemberGrant.Kind.CARE_TEAM,
            actor=actor,
            reason="revoked",
        )
    audit_record(
        action="delete",
        object_type="care_team_member",
        object_id=str(row.uuid),
        member_ids=[row.member_id],
        actor=actor,
    )
    return row


@transaction.atomic
def care_conference_record(
    *, episode: Episode, held_on: date, attendees: str, actor, notes: str = ""
) -> CareConference:
    """Record a care conference (the RTF's most recent care conference date)."""
    _require_provider_staff(actor, episode, "care_plans.add_careconference")
    errors = {}
    if held_on is None:
        errors["held_on"] = ValidationError("Give the date.", code="required")
    elif held_on > timezone.localdate():
        errors["held_on"] = ValidationError(
            "A conference cannot be in the future.", code="future"
        )
    elif episode.enrolled_on and held_on < episode.enrolled_on:
        errors["held_on"] = ValidationError(
            "The conference is dated before the member enrolled.",
            code="before_enrollment",
        )
    attendees = (attendees or "").strip()
    if not attendees:
        errors["attendees"] = ValidationError("Who attended?", code="required")
    if errors:
        raise ValidationError(errors)
    conference = CareConference.objects.create(
        member_id=episode.member_id,
        episode=episode,
        held_on=held_on,
        attendees=attendees[:2000],
        notes=(notes or "").strip(),
        recorded_by=actor,
    )
    audit_record(
        action="create",
        object_type="care_conference",
        object_id=str(conference.uuid),
        member_ids=[episode.member_id],
        actor=actor,
    )
    return conference


def care_team_close(*, episode: Episode, actor) -> int:
    """The episode closed: its staff leave the care team and their care-team
    grants end now (the access they had was for this episode). Called by the
    episode's lifecycle inside its transaction; returns how many left."""
    now = timezone.now()
    rows = list(
        CareTeamMember.objects.select_for_update().filter(
            episode=episode, kind=CareTeamMember.Kind.STAFF, removed_at__isnull=True
        )
    )
    for row in rows:
        row.removed_at, row.removed_by = now, actor
        row.save(update_fields=["removed_at", "removed_by", "updated_at"])
        member_access_revoke(
            member_id=row.member_id,
            user_id=row.user_id,
            kind=MemberGrant.Kind.CARE_TEAM,
            actor=actor,
            reason="ended with the episode",
        )
    return len(rows)
