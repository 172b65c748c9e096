"""Pages of transitions of care: the care manager's alert inbox, the chart panel,
the plan's transitional-care queue and the interface administrator's unmatched
queue.

The interface administrator links a message to a member without opening any
chart: they search only among members ever enrolled with their plan, with a CIN
alone or a last name together with a birth date (never a name alone), see at
most ten rows of name, birth date, sex and CIN (what the message itself shows
them), and every list of candidates shown is audited with its member ids.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from calaim.accounts import roles
from calaim.audit.services import audit_record
from care_plans.transitions import selectors, services
from care_plans.transitions.access import access_alert, access_unmatched_message
from care_plans.transitions.matching import cins_in, demographic_candidates
from care_plans.transitions.parsing import ADTParseError, parse_adt

INBOX_SIZE = 100
QUEUE_SIZE = 200
UNMATCHED_SIZE = 200


# --- The care manager's alert inbox -------------------------------------------------


def _require_alert_role(user) -> None:
    if not user.has_role(roles.CARE_MANAGER, roles.SUPERVISOR):
        raise PermissionDenied("Hospital alerts go to care managers and supervisors.")


def _member_ids(alerts) -> list[int]:
    return sorted({alert.event.member_id for alert in alerts if alert.member_visible})


@login_required
@require_GET
def alert_inbox(request):
    """The signed-in care manager's (or supervisor's) hospital alerts:
    unacknowledged first, each with Acknowledge and Open chart."""
    _require_alert_role(request.user)
    show_all = request.GET.get("show") == "all"
    alerts = list(
        selectors.alerts_for(request.user, open_only=not show_all)[:INBOX_SIZE]
    )
    if alerts:
        audit_record(
            action="view",
            object_type="transition_alerts",
            member_ids=_member_ids(alerts),
            actor=request.user,
        )
    return render(
        request,
        "transitions/alerts.html",
        {"alerts": alerts, "show_all": show_all, "limit": INBOX_SIZE},
    )


@login_required
@require_POST
def alert_acknowledge(request, alert_uuid):
    """POST: acknowledge one's own alert (htmx: the row is redrawn)."""
    alert = access_alert(request.user, alert_uuid)
    alert = services.alert_acknowledge(alert=alert, actor=request.user)
    if request.htmx:
        row = selectors.alerts_for(request.user).get(pk=alert.pk)
        return render(request, "transitions/_alert_row.html", {"alert": row})
    messages.success(request, "Alert acknowledged.")
    return redirect("transition_alerts")


# --- The chart panel (registered in TransitionsConfig.ready) ------------------------


def transitions_panel(request, member):
    """Chart panel: the member's hospital stays and ADT events, newest first (one
    query), cancelled ones struck through."""
    events = selectors.events_for_member(member)
    return {"events": events, "cancel_kinds": list(services.CANCELS)}


# --- The plan's transitional-care queue ---------------------------------------------


@login_required
@require_GET
def plan_queue(request):
    """Transitions of the plan's members who have no lead care manager (the plan
    provides transitional care itself, DOMAIN.md §5a), last 90 days."""
    user = request.user
    if not user.has_perm("transitions.view_transitionevent") or not user.has_role(
        roles.PLAN_ADMIN
    ):
        raise PermissionDenied("The transitional-care queue is the plan's.")
    events = list(selectors.plan_queue(user.organization)[:QUEUE_SIZE])
    if events:
        audit_record(
            action="view",
            object_type="transition_queue",
            member_ids=sorted({event.member_id for event in events}),
            actor=user,
        )
    return render(
        request,
        "transitions/queue.html",
        {"events": events, "limit": QUEUE_SIZE, "days": selectors.QUEUE_DAYS},
    )


# --- The unmatched queue (interface administrator) ---------------------------------


def _require_interface_admin(user) -> None:
    if not user.has_role(roles.INTERFACE_ADMIN) or user.organization_id is None:
        raise PermissionDenied("The unmatched queue is the interface administrator's.")


def _summary(message) -> dict:
    """What the message says about the patient, for matching by eye."""
    try:
        adt = parse_adt(message.raw)
    except ADTParseError:
        return {"readable": False}
    sender = message.sender
    return {
        "readable": True,
        "adt": adt,
        "cins": cins_in(adt, sender.cin_assigning_authorities if sender else ()),
        "identifiers": adt.identifiers,
    }


@login_required
@require_GET
def unmatched_list(request):
    """The plan's feeds' messages waiting for a member, oldest first."""
    _require_interface_admin(request.user)
    rows = list(
        selectors.unmatched_messages(request.user.organization_id)[:UNMATCHED_SIZE]
    )
    for message in rows:
        message.summary = _summary(message)
    if rows:
        # Unmatched messages name no member id to record.
        audit_record(
            action="view",
            object_type="hl7_unmatched_queue",
            actor=request.user,
            reason=f"{len(rows)} unmatched messages",
        )
    return render(
        request,
        "transitions/unmatched.html",
        {"messages_waiting": rows, "limit": UNMATCHED_SIZE},
    )


class CandidateSearchForm(forms.Form):
    cin = forms.CharField(label="CIN", max_length=14, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    birth_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if not data.get("cin") and not (
            data.get("last_name") and data.get("birth_date")
        ):
            raise ValidationError(
                "Search with a CIN, or with a last name and a birth date.",
                code="too_broad",
            )
        return data


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def _detail(request, message, *, search_form=None, dismiss_form=None, status=200):
    plan = request.user.organization
    summary = _summary(message)
    suggested = []
    if summary["readable"]:
        adt = summary["adt"]
        by_cin = [
            member
            for cin in summary["cins"]
            for member in selectors.link_candidates(plan, cin=cin)
        ]
        by_name = (
            selectors.link_candidates(
                plan, last_name=adt.last_name, birth_date=adt.birth_date
            )
            if adt.last_name and adt.birth_date
            else []
        )
        exact = {member.pk for member in demographic_candidates(adt, limit=10)}
        seen = set()
        for member in [*by_cin, *by_name]:
            if member.pk not in seen:
                seen.add(member.pk)
                member.exact = member.pk in exact
                suggested.append(member)
    search_form = search_form or CandidateSearchForm()
    found = []
    if search_form.is_bound and search_form.is_valid():
        found = selectors.link_candidates(plan, **search_form.cleaned_data)
    shown = {member.pk for member in [*suggested, *found]}
    audit_record(
        action="view",
        object_type="hl7_message",
        object_id=str(message.uuid),
        member_ids=sorted(shown),
        actor=request.user,
        reason="unmatched message and link candidates",
    )
    return render(
        request,
        "transitions/unmatched_detail.html",
        {
            "message": message,
            "summary": summary,
            "suggested": suggested,
            "search_form": search_form,
            "found": found,
            "searched": search_form.is_bound,
            "dismiss_form": dismiss_form or DismissForm(),
        },
        status=status,
    )


@login_required
@require_GET
def unmatched_detail(request, message_uuid):
    """One unmatched message: what it says, suggested members, a narrow search,
    Link and Dismiss."""
    message = access_unmatched_message(request.user, message_uuid)
    form = CandidateSearchForm(request.GET) if request.GET else None
    return _detail(request, message, search_form=form, status=200)


@login_required
@require_POST
def unmatched_link(request, message_uuid):
    """POST member=<uuid>: link the message and process it as if matched."""
    message = access_unmatched_message(request.user, message_uuid)
    from members.models import Member

    try:
        member = Member.objects.get(uuid=request.POST.get("member"))
    except (Member.DoesNotExist, ValidationError, ValueError):
        messages.error(request, "Choose a member from the list.")
        return _detail(request, message, status=400)
    try:
        status = services.unmatched_link(
            message=message, member=member, actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _detail(request, message, status=400)
    messages.success(request, f"Linked; the message is {status} now.")
    return redirect("transition_unmatched")


@login_required
@require_POST
def unmatched_dismiss(request, message_uuid):
    """POST reason=...: dismiss the message (kept for the log)."""
    message = access_unmatched_message(request.user, message_uuid)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _detail(request, message, dismiss_form=form, status=400)
    try:
        services.unmatched_dismiss(
            message=message, reason=form.cleaned_data["reason"], actor=request.user
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _detail(request, message, dismiss_form=form, status=400)
    messages.success(request, "Message dismissed.")
    return redirect("transition_unmatched")
