"""Issuing, e-mailing and using action links."""

from datetime import timedelta
from enum import Enum

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from calaim.audit.services import audit_record
from calaim.links.models import ActionLink
from calaim.links.registry import link_action
from calaim.outbox.registry import register_handler
from calaim.outbox.services import outbox_enqueue

SALT = "calaim.links"
EMAIL_KIND = "links.email"
EMAIL_SUBJECT = "CalAIM Care: an action is waiting for you"
MAX_EXPIRY = timedelta(days=30)


class LinkState(Enum):
    USABLE = "usable"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


def link_token(link: ActionLink) -> str:
    """The URL token: the link's id signed with SECRET_KEY."""
    return signing.Signer(salt=SALT).sign(link.uuid.hex)


def link_url(link: ActionLink) -> str:
    path = reverse("action_link", args=[link_token(link)])
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def link_from_token(token: str) -> ActionLink | None:
    """The link a token names, or None when it was tampered with or is unknown."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None
    return ActionLink.objects.filter(uuid=value).first() if len(value) == 32 else None


def link_state(link: ActionLink, now=None) -> LinkState:
    now = now or timezone.now()
    if link.used_at is not None:
        return LinkState.USED
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.USABLE


@transaction.atomic
def action_link_create(
    *, action: str, object_id, recipient_email: str, expires_in: timedelta, actor
) -> str:
    """Issue a link that performs `action` on `object_id` once, and e-mail it.

    Returns the link's URL. The e-mail goes through the outbox after commit
    and names only the action, never the member.
    """
    link_action(action)  # an unknown action is a bug in the caller
    validate_email(recipient_email)
    if not isinstance(expires_in, timedelta) or not (
        timedelta(0) < expires_in <= MAX_EXPIRY
    ):
        raise ValidationError(
            {"expires_in": f"A link expires within {MAX_EXPIRY.days} days."}
        )
    link = ActionLink.objects.create(
        action=action,
        object_id=str(object_id),
        recipient_email=recipient_email.strip().lower(),
        created_by=actor if getattr(actor, "pk", None) else None,
        expires_at=timezone.now() + expires_in,
    )
    outbox_enqueue(
        kind=EMAIL_KIND, key=f"{EMAIL_KIND}:{link.pk}", payload={"link_id": link.pk}
    )
    audit_record(
        action="create",
        object_type="action_link",
        object_id=link.uuid,
        actor=actor,
        reason=f"{action} link for {link.recipient_email}",
    )
    return link_url(link)


@transaction.atomic
def action_link_revoke(*, link: ActionLink, actor) -> bool:
    """Withdraw an unused link (the offer it acts on went elsewhere)."""
    revoked = ActionLink.objects.filter(
        pk=link.pk, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if revoked:
        audit_record(
            action="update",
            object_type="action_link",
            object_id=link.uuid,
            actor=actor,
            reason="revoked",
        )
    return bool(revoked)


@register_handler(EMAIL_KIND)
def email_link(message) -> None:
    """Outbox handler: e-mail a link once (claims `emailed_at` first)."""
    link = ActionLink.objects.filter(pk=message.payload["link_id"]).first()
    if link is None or link_state(link) is not LinkState.USABLE:
        return
    claimed = ActionLink.objects.filter(pk=link.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if claimed != 1:
        return
    body = render_to_string(
        "links/email.txt",
        {
            "label": link_action(link.action).label,
            "url": link_url(link),
            "expires_at": link.expires_at,
        },
    )
    send_mail(
        subject=EMAIL_SUBJECT,
        message=body,
        from_email=None,
        recipient_list=[link.recipient_email],
        fail_silently=False,
    )


class LinkUnusable(Exception):
    def __init__(self, state: LinkState):
        super().__init__(state.value)
        self.state = state


def action_link_use(*, link: ActionLink, data: dict) -> str:
    """Perform the link's action once; return the handler's message.

    The claim (a conditional UPDATE) and the handler's effects commit together:
    of two uses at once, the second waits on the row, finds it used and gets
    LinkUnusable; a handler that raises rolls the claim back with its effects.
    Audited with the recipient named, since the user is anonymous.
    """
    registered = link_action(link.action)
    with transaction.atomic():
        now = timezone.now()
        claimed = ActionLink.objects.filter(
            pk=link.pk,
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(used_at=now)
        if claimed != 1:
            link.refresh_from_db()
            raise LinkUnusable(link_state(link, now))
        message = registered.handler(object_id=link.object_id, data=data, link=link)
        link.used_at = now
        link.result = str(message or "Done.")[:300]
        link.save(update_fields=["result"])
        audit_record(
            action="update",
            object_type="action_link",
            object_id=link.uuid,
            actor=None,
            reason=f"{link.action} by link recipient {link.recipient_email}",
        )
    return link.result
