"""The interface administrator's pages: the feed, the raw message viewer, the
refused-message log and the sender registry.

Each page checks the role (403), then fetches through care_plans.hl7.access or
the plan-scoped selectors (another plan's records are 404 / absent). Lists have a
fixed number of queries whatever the volume, and never load the raw text.
"""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from calaim import access as registry
from care_plans.hl7 import selectors
from care_plans.hl7.access import (
    ADD_SENDER,
    MANAGE_SENDERS,
    VIEW_FEED,
    access_message,
    access_sender,
)
from care_plans.hl7.er7 import SEGMENT_BREAK
from care_plans.hl7.forms import SenderForm
from care_plans.hl7.models import Channel, MessageStatus
from care_plans.hl7.services import sender_register, sender_update

LIST_LIMIT = 100


@login_required
@require_GET
def feed(request):
    """Counts by sender and status, and the latest messages (filterable)."""
    registry.require_permission(request.user, VIEW_FEED)
    senders = list(selectors.senders_of(request.user))
    counts = selectors.feed_counts(request.user)
    statuses = list(MessageStatus.choices)
    rows = []
    for sender in senders:
        mine = counts.get(sender.pk, {})
        rows.append(
            {
                "sender": sender,
                "counts": [mine.get(value, 0) for value, _ in statuses],
                "total": sum(mine.values()),
            }
        )
    status = request.GET.get("status", "")
    status = status if status in MessageStatus.values else ""
    channel = request.GET.get("channel", "")
    channel = channel if channel in Channel.values else ""
    by_uuid = {str(sender.uuid): sender for sender in senders}
    sender_uuid = request.GET.get("sender", "")
    sender_uuid = sender_uuid if sender_uuid in by_uuid else ""
    recent = list(
        selectors.feed_messages(
            request.user, sender_uuid=sender_uuid, status=status, channel=channel
        )[:LIST_LIMIT]
    )
    by_pk = {sender.pk: sender for sender in senders}
    for message in recent:
        message.sender_label = by_pk.get(message.sender_id)
    return render(
        request,
        "hl7/feed.html",
        {
            "rows": rows,
            "statuses": statuses,
            "recent": recent,
            "senders": senders,
            "status": status,
            "channel": channel,
            "sender_uuid": sender_uuid,
            "channels": Channel.choices,
            "filtered": bool(status or channel or sender_uuid),
            "limit": LIST_LIMIT,
        },
    )


@login_required
@require_GET
def message_detail(request, message_id):
    """One message as received, segment by segment (audited: raw HL7 is PHI)."""
    message = access_message(request.user, message_id)
    segments = [segment for segment in SEGMENT_BREAK.split(message.raw) if segment]
    return render(
        request, "hl7/message.html", {"message": message, "segments": segments}
    )


@login_required
@require_GET
def refused(request):
    """AR and AE answers: unknown senders, wrong addresses, other types, bad MSH."""
    registry.require_permission(request.user, VIEW_FEED)
    senders = {sender.pk: sender for sender in selectors.senders_of(request.user)}
    rows = list(selectors.refused_messages(request.user)[:LIST_LIMIT])
    for message in rows:
        message.sender_label = senders.get(message.sender_id)
    return render(request, "hl7/refused.html", {"rows": rows, "limit": LIST_LIMIT})


@login_required
@require_GET
def senders(request):
    """The plan's registered sending facilities."""
    registry.require_permission(request.user, MANAGE_SENDERS)
    return render(
        request,
        "hl7/senders.html",
        {
            "senders": list(selectors.senders_of(request.user)),
            "can_add": request.user.has_perm(ADD_SENDER),
        },
    )


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
@require_http_methods(["GET", "POST"])
def sender_create(request):
    """Register a hospital's sending facility for the user's plan."""
    registry.require_permission(request.user, ADD_SENDER)
    form = SenderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sender = sender_register(
                plan=request.user.organization, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            flash.success(request, f"Sender {sender.sending_facility} registered.")
            return redirect("hl7_senders")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "hl7/sender_form.html", {"form": form, "sender": None}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def sender_edit(request, sender_id):
    """Change a sender's hospital, facility id, addresses, authorities or state."""
    sender = access_sender(request.user, sender_id)
    form = SenderForm(request.POST or None, initial=SenderForm.initial_for(sender))
    if request.method == "POST" and form.is_valid():
        try:
            sender_update(sender=sender, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            flash.success(request, f"Sender {sender.sending_facility} saved.")
            return redirect("hl7_senders")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "hl7/sender_form.html", {"form": form, "sender": sender}, status=status
    )
