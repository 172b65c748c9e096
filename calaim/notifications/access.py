"""The one place a notification is fetched for a user."""

from django.http import Http404

from calaim.notifications.models import Notification


def access_notification(user, public_id) -> Notification:
    """The user's own notification, or 404 (also for somebody else's)."""
    try:
        return Notification.objects.get(public_id=public_id, recipient=user)
    except (Notification.DoesNotExist, ValueError):
        raise Http404("No such notification.") from None
