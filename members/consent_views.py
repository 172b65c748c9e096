"""Consent pages: the chart's consents panel, recording, revoking, the signed form.

Every view fetches the member through members.access.access_member (404 for a
member that is missing or not visible), then checks the role (403), then calls
one service. Whoever may open the chart reads the consents; the member's care
managers, their supervisors and the plan record and revoke them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from calaim import access as registry
from calaim.audit.services import audit_record
from members.access import access_member
from members.forms import ConsentEndForm, ConsentForm, ConsentRevokeForm
from members.models import Consent
from members.selectors import member_consents
from members.services import consent_end, consent_record, consent_revoke
from members.services.consents import consent_document_path, max_document_bytes

VIEW = "members.view_consent"
ADD = "members.add_consent"
REVOKE = "members.revoke_consent"


def _chart_url(member) -> str:
    return f"{reverse('member_chart', args=[member.uuid])}#panel-consents"


def _consent_of(member, consent_uuid) -> Consent:
    """One consent of a member the user may see; Http404 when it is not theirs."""
    try:
        return member.consents.select_related("recorded_by", "attested_by").get(
            uuid=consent_uuid
        )
    except (Consent.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such consent.") from missing


def _attach_errors(form, error: ValidationError) -> None:
    found = (
        error.message_dict
        if hasattr(error, "error_dict")
        else {NON_FIELD_ERRORS: error.messages}
    )
    for field, field_messages in found.items():
        form.add_error(field if field in form.fields else None, field_messages)


@login_required
@require_http_methods(["GET", "POST"])
def consent_new(request, member_uuid):
    """Record a consent for a member: the signed form uploaded, or verbal consent
    attested by the person recording it. 400 with the errors in place, nothing
    written, on bad input."""
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, ADD)
    status = 200
    if request.method == "POST":
        form = ConsentForm(request.POST, request.FILES)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["recipient_organizations"] = list(data["recipient_organizations"])
            try:
                consent_record(member=member, actor=request.user, **data)
            except ValidationError as error:
                _attach_errors(form, error)
            else:
                messages.success(request, "Consent recorded.")
                return redirect(_chart_url(member))
        status = 400
    else:
        form = ConsentForm(initial={"start_date": timezone.localdate()})
    return render(
        request,
        "members/consents/new.html",
        {"member": member, "form": form, "max_bytes": max_document_bytes()},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent_revoke_view(request, member_uuid, consent_uuid):
    """Record that the member revoked a consent, with the reason."""
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, REVOKE)
    consent = _consent_of(member, consent_uuid)
    status = 200
    if request.method == "POST":
        form = ConsentRevokeForm(request.POST)
        if form.is_valid():
            try:
                consent_revoke(
                    consent=consent,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ValidationError as error:
                _attach_errors(form, error)
            else:
                messages.success(request, "Revocation recorded.")
                return redirect(_chart_url(member))
        status = 400
    else:
        form = ConsentRevokeForm()
    consent.status = consent.status_on(timezone.localdate())
    return render(
        request,
        "members/consents/revoke.html",
        {"member": member, "consent": consent, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent_end_view(request, member_uuid, consent_uuid):
    """Record that the event ending a consent happened (it expires that day)."""
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, REVOKE)
    consent = _consent_of(member, consent_uuid)
    status = 200
    if request.method == "POST":
        form = ConsentEndForm(request.POST)
        if form.is_valid():
            try:
                consent_end(
                    consent=consent,
                    on=form.cleaned_data["end_date"],
                    actor=request.user,
                )
            except ValidationError as error:
                _attach_errors(form, error)
            else:
                messages.success(request, "End of the consent recorded.")
                return redirect(_chart_url(member))
        status = 400
    else:
        form = ConsentEndForm(initial={"end_date": timezone.localdate()})
    consent.status = consent.status_on(timezone.localdate())
    return render(
        request,
        "members/consents/end.html",
        {"member": member, "consent": consent, "form": form},
        status=status,
    )


@login_required
@require_GET
def consent_document(request, member_uuid, consent_uuid):
    """The signed consent form, as a download. Audited as an export."""
    member = access_member(request.user, member_uuid, audit=False)
    registry.require_permission(request.user, VIEW)
    consent = _consent_of(member, consent_uuid)
    path = consent_document_path(consent)
    if path is None:
        raise Http404("No signed form on file.")
    audit_record(
        action="export",
        object_type="consent_document",
        object_id=str(consent.uuid),
        member_ids=[member.pk],
        actor=request.user,
    )
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=consent.document_name or path.name,
        content_type=consent.document_content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def chart_consents(request, member, *, take: bool = False) -> list:
    """The member's consents (member_consents), read once for the chart: the
    header (its consent flags) reads them and leaves them on the request, the
    consents panel, drawn after it, takes them (`take`); a panel drawn on its
    own reads them afresh."""
    cache = request.__dict__.setdefault("_chart_consents", {})
    if take:
        found = cache.pop(member.pk, None)
        return found if found is not None else member_consents(member)
    if member.pk not in cache:
        cache[member.pk] = member_consents(member)
    return cache[member.pk]


def consents_panel(request, member):
    """Chart panel: the member's consents with their status today, and the links
    to record, revoke and download for those whose role allows it (two queries:
    the consents, their recipient organizations)."""
    user = request.user
    if not user.has_perm(VIEW):
        return {"hidden": True}
    today = timezone.localdate()
    consents = chart_consents(request, member, take=True)
    for consent in consents:
        consent.status = consent.status_on(today)
    return {
        "consents": consents,
        "can_record": user.has_perm(ADD),
        "can_revoke": user.has_perm(REVOKE),
        "revocable": {Consent.Status.ACTIVE, Consent.Status.UPCOMING},
    }
