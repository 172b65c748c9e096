"""The auditor's page: who did what to which member, filterable, paginated."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from calaim import access as registry
from calaim.audit.forms import AuditFilterForm
from calaim.audit.selectors import AuditFilters, audit_page
from calaim.audit.services import audit_record
from calaim.validators import normalize_cin


@login_required
def audit_log(request):
    registry.require_permission(request.user, "audit.view_auditevent")
    form = AuditFilterForm(request.GET or None)
    events, next_before, cins = [], None, {}
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        status = 200
        data = form.cleaned_data if form.is_bound else {}
        filters = AuditFilters(
            member_cin=normalize_cin(data.get("member") or ""),
            actor_email=data.get("user") or "",
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            before_id=data.get("before"),
        )
        events, next_before, cins = audit_page(request.user, filters)
        audit_record(
            action="view",
            object_type="audit_log",
            member_ids=list(cins),
            actor=request.user,
        )
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "audit/audit_log.html",
        {
            "form": form,
            "events": events,
            "cins": cins,
            "next_before": next_before,
            "base_query": query.urlencode(),
        },
        status=status,
    )
