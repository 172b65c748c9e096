"""Sending notifications, and their recipients reading and acknowledging them."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from calaim.audit.services import audit_record
from calaim.bulk import insert_unless_conflict
from calaim.mail import mail_connection, mail_connection_failed
from calaim.notifications.models import Notification
from calaim.outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)

CREATE_KIND = "notification.create"
EMAIL_KIND = "notification.email"
# Fixed: an e-mail leaves our control, so it says only that something is waiting.
EMAIL_SUBJECT = "CalAIM Care: you have a new notification"


def _check_link(link: str) -> None:
    # Only paths on this site: a notification (and its e-mail) must not be a way
    # to send a user elsewhere.
    if link and (not link.startswith("/") or link.startswith("//")):
        raise ValidationError({"link": "A notification links to a page of this site."})


def notification_send(
    *,
    recipient,
    kind: str,
    title: str,
    link: str,
    key: str,
    member_id: int | None = None,
    email: bool = True,
    at_once: bool = False,
) -> None:
    """Notify `recipient` of the event `key`, once, after the caller commits.

    Through the outbox, so a notification exists if and only if the caller's
    change does, arrives even when Redis or the worker was down at the time, and
    appears once per event and recipient however often it is sent. Keep `title`
    generic: the member is reached through `link`, behind the access rules. The
    e-mail (if `email`) carries no PHI, only links. `at_once` writes the in-app
    notification in the caller's transaction instead (a worker's urgent alerts:
    the recipient sees it the moment the caller commits, with the same once-only
    guarantee); the e-mail always goes through the outbox.
    """
    if len(title) > Notification._meta.get_field("title").max_length:
        raise ValidationError({"title": "Too long."})
    _check_link(link)
    payload = {
        "recipient_id": recipient.pk,
        "kind": kind,
        "key": key,
        "title": title,
        "link": link,
        "member_id": member_id,
    }
    if at_once:
        # A row in this database: written in the caller's transaction, it exists
        # if and only if the caller's change commits, once per recipient and key.
        if recipient.is_active:
            notification_create_now(**payload)
    else:
        outbox_enqueue(
            kind=CREATE_KIND, key=f"{CREATE_KIND}:{recipient.pk}:{key}", payload=payload
        )
    if email:
        outbox_enqueue(
            kind=EMAIL_KIND, key=f"{EMAIL_KIND}:{recipient.pk}:{key}", payload=payload
        )


def notification_create(
    *,
    recipient_id: int,
    kind: str,
    key: str,
    title: str,
    link: str = "",
    member_id: int | None = None,
) -> Notification | None:
    """Create the notification of (event, recipient) unless it exists; return it.

    The outbox handlers call this; the unique (recipient, key) constraint makes a
    redelivered message find the row instead of adding a second. None when the
    recipient is gone or deactivated: there is nobody left to tell.
    """
    user_model = get_user_model()
    if not user_model.objects.filter(pk=recipient_id, is_active=True).exists():
        return None
    return notification_create_now(
        recipient_id=recipient_id,
        kind=kind,
        key=key,
        title=title,
        link=link,
        member_id=member_id,
    )


def notification_create_now(
    *,
    recipient_id: int,
    kind: str,
    key: str,
    title: str,
    link: str = "",
    member_id: int | None = None,
) -> Notification:
    """Create the notification of (event, recipient) unless it exists, for a
    recipient the caller knows to be active; return it."""
    notification = Notification(
        recipient_id=recipient_id,
        key=key,
        kind=kind,
        title=title,
        link=link,
        member_id=member_id,
    )
    if not insert_unless_conflict(notification, ["recipient", "key"]):
        notification = Notification.objects.get(recipient_id=recipient_id, key=key)
    return notification


_CLAIM_EMAIL = """
    UPDATE notifications_notification SET emailed_at = %s
    WHERE id = %s AND emailed_at IS NULL"""


def notification_email(*, notification: Notification) -> bool:
    """E-mail the recipient that a notification waits; True if one was sent.

    Claims the notification's `emailed_at` first, inside the outbox's transaction:
    a second delivery finds it claimed and sends nothing; a crash before commit
    releases the claim, so the e-mail is sent later rather than lost.
    """
    email_address = notification.recipient.email  # select it with the notification
    if not email_address:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_EMAIL, [timezone.now(), notification.pk])
        if cursor.rowcount != 1:
            return False
    site = settings.SITE_URL.rstrip("/")
    body = render_to_string(
        "notifications/email.txt",
        {
            "link_url": f"{site}{notification.link}" if notification.link else "",
            "inbox_url": f"{site}{reverse('notifications:list')}",
        },
    )
    try:
        send_mail(
            subject=EMAIL_SUBJECT,
            message=body,
            from_email=None,
            recipient_list=[email_address],
            fail_silently=False,
            connection=mail_connection(),
        )
    except Exception:
        mail_connection_failed()
        raise
    return True


def _require_recipient(notification: Notification, actor) -> None:
    if notification.recipient_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only its recipient may change a notification.")


@transaction.atomic
def notification_mark_read(*, notification: Notification, actor) -> Notification:
    """Mark the actor's own notification read (idempotent)."""
    _require_recipient(notification, actor)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_acknowledge(*, notification: Notification, actor) -> Notification:
    """Acknowledge the actor's own notification, which also marks it read.

    Acknowledging says "I am acting on it" (an unacknowledged alert escalates to
    the supervisors), so it is audited like any update about the member.
    """
    _require_recipient(notification, actor)
    if notification.acknowledged_at is None:
        now = timezone.now()
        notification.acknowledged_at = now
        notification.read_at = notification.read_at or now
        notification.save(update_fields=["acknowledged_at", "read_at"])
        audit_record(
            action="update",
            object_type="notification",
            object_id=str(notification.public_id),
            member_ids=[notification.member_id] if notification.member_id else [],
            actor=actor,
            reason="acknowledged",
        )
    return notification
