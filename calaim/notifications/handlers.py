"""Outbox handlers for notifications (registered in NotificationsConfig.ready)."""

from calaim.notifications.models import Notification
from calaim.notifications.services import (
    CREATE_KIND,
    EMAIL_KIND,
    notification_create,
    notification_email,
)
from calaim.outbox.registry import register_handler
from calaim.prepared import prepared_list


@register_handler(CREATE_KIND)
def create_notification(message) -> None:
    notification_create(**message.payload)


@register_handler(EMAIL_KIND)
def email_notification(message) -> None:
    payload = message.payload
    # Usually the notification exists (written with the change, or by its own
    # message); if its own message has not arrived yet, create it here: the
    # e-mail links to it.
    found = prepared_list(
        "notifications.email.find",
        lambda recipient_id, key: Notification.objects.select_related(
            "recipient"
        ).filter(recipient_id=recipient_id, key=key)[:1],
        payload["recipient_id"],
        payload["key"],
    )
    notification = found[0] if found else None
    if notification is None:
        notification = notification_create(**payload)
    if notification is not None and notification.recipient.is_active:
        notification_email(notification=notification)
