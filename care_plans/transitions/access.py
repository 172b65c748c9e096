"""The chokepoints that fetch an alert or an unmatched message for a user."""

from django.core.exceptions import ValidationError
from django.http import Http404

from calaim.accounts import roles
from care_plans.transitions.models import Alert


def access_alert(user, alert_uuid) -> Alert:
    """The user's own alert, or Http404 (missing, or someone else's)."""
    try:
        return Alert.objects.select_related("event").get(
            uuid=alert_uuid, recipient_id=user.pk
        )
    except (Alert.DoesNotExist, ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such alert.") from missing


def access_unmatched_message(user, message_uuid):
    """An unmatched message of one of the user's plan's feeds, for its interface
    administrator; Http404 for anyone else, as for a missing one.

    The raw message is PHI: the caller audits what it shows.
    """
    from care_plans.hl7.models import InboundMessage

    if not user.has_role(roles.INTERFACE_ADMIN) or user.organization_id is None:
        raise Http404("No such message.")
    try:
        return InboundMessage.objects.select_related("sender", "member").get(
            uuid=message_uuid,
            status="unmatched",
            sender__plan_id=user.organization_id,
        )
    except (
        InboundMessage.DoesNotExist,
        ValidationError,
        ValueError,
        TypeError,
    ) as missing:
        raise Http404("No such message.") from missing
