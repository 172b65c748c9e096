"""Outbox handlers for notifications (registered in NotificationsConfig.ready)."""

from calaim.notifications.services import (
    CREATE_KIND,
    EMAIL_KIND,
    notification_create,
    notification_email,
)
from calaim.outbox.registry import register_handler


@register_handler(CREATE_KIND)
def create_notification(message) -> None:
    notification_create(**message.payload)


@register_handler(EMAIL_KIND)
def email_notification(message) -> None:
    # Creates the notification too if its own message has not arrived yet: the two
    # messages race, and the e-mail links to it.
    notification = notification_create(**message.payload)
    if notification is not None:
        notification_email(notification=notification)
