"""Reads of notifications, always scoped to their recipient."""

from django.db.models import QuerySet

from calaim.notifications.models import Notification


def notifications_for(user) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notifications_unread_count(user) -> int:
    """How many of the user's notifications are unread (the navbar badge)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
