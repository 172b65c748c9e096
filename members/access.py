"""Who may see a member, as far as this app knows, and the member chokepoint."""

from django.core.exceptions import ValidationError
from django.db.models import BooleanField
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from calaim.prepared import fresh_placeholder, prepared_list
from members.models import Enrollment, Member, MemberGrant


@registry.register_rule("plan_enrollment")
def _members_of_my_plan(user):
    """Plan admins and the plan's auditors see every member ever enrolled with it."""
    if not user.has_role(roles.PLAN_ADMIN, roles.AUDITOR):
        return None
    if user.organization_id is None or not user.organization.is_plan:
        return None
    return Enrollment.objects.filter(plan_id=user.organization_id).values("member_id")


@registry.register_rule("explicit_grant")
def _granted_to_me(user):
    """A covering care manager, a care-team colleague, or break-glass, until expiry."""
    return MemberGrant.objects.filter(
        user_id=user.pk, expires_at__gt=timezone.now()
    ).values("content_object_id")


def _member_with_county(member_uuid):
    return (
        Member.objects.select_related("county")
        .filter(uuid=member_uuid)
        .annotate(visible_to_user=fresh_placeholder(BooleanField()))
        .order_by()
    )


def access_member(user, member_uuid, *, scope=registry.CHART, audit=True) -> Member:
    """Fetch a member for `user`, or raise Http404 whether missing or not allowed.

    Records a view of the member in the audit trail unless `audit` is False (a
    caller that records a more specific action itself).
    """
    try:
        member_uuid = Member._meta.get_field("uuid").to_python(member_uuid)
    except (ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such member.") from missing
    # One query: the member, their county (the chart shows it), and whether
    # the user may see them (registry.member_is_visible's correlated EXISTS
    # per rule, as a column of the same row). Built and compiled once per scope
    # (calaim.prepared); only the rules' part is compiled on each call: which
    # rules apply depends on the user, and the rules read the clock.
    found = (
        prepared_list(
            ("members.access_member", scope),
            _member_with_county,
            member_uuid,
            fresh=registry.visibility_condition(user, scope=scope),
        )
        if member_uuid is not None
        else []
    )
    if not found or not found[0].visible_to_user:
        raise Http404("No such member.")
    member = found[0]
    if audit:
        audit_record(
            action="view",
            object_type="member",
            object_id=str(member.uuid),
            member_ids=[member.pk],
            actor=user,
        )
    return member
