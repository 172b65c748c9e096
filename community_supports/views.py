"""Network pages: the catalog (everyone signed in), a plan's offerings and
contracts (its plan administrators), and a provider's own contracts (read-only).

Each page checks the role (403), fetches one object through
community_supports.access (404 when missing or not the user's), and writes
through one service, whose ValidationError becomes form errors (400, nothing
written).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from calaim import access as registry
from calaim.audit.services import audit_record
from community_supports import selectors, services
from community_supports.access import (
    access_contract,
    access_offering,
    access_plan_contract,
)
from community_supports.forms import ContractForm, OfferingDatesForm, OfferingForm

VIEW_CONTRACT = "community_supports.view_providercontract"
ADD_CONTRACT = "community_supports.add_providercontract"
CHANGE_CONTRACT = "community_supports.change_providercontract"
VIEW_OFFERING = "community_supports.view_planoffering"
ADD_OFFERING = "community_supports.add_planoffering"
CHANGE_OFFERING = "community_supports.change_planoffering"


def _require_plan(user) -> None:
    organization = user.organization
    if organization is None or not organization.is_plan:
        raise PermissionDenied("These pages are for a plan's administrators.")


def _error_status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


# --- The catalog ------------------------------------------------------------------


@login_required
@require_GET
def catalog(request):
    """The 15 Community Supports with their code pairs (today's) and limits."""
    registry.require_permission(
        request.user, "community_supports.view_communitysupport"
    )
    today = timezone.localdate()
    supports = list(selectors.catalog(on=today))
    return render(
        request,
        "community_supports/catalog.html",
        {"supports": supports, "today": today},
    )


# --- Offerings ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def offerings(request):
    """The plan's offerings by support and county; add one."""
    registry.require_permission(request.user, VIEW_OFFERING)
    _require_plan(request.user)
    form = OfferingForm(request.POST or None)
    if request.method == "POST":
        registry.require_permission(request.user, ADD_OFFERING)
        if form.is_valid():
            try:
                services.offering_create(
                    plan=request.user.organization,
                    actor=request.user,
                    **form.cleaned_data,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, "Offering added.")
                return redirect("cs_offerings")
    rows = list(selectors.offerings_for_plan(request.user.organization_id))
    today = timezone.localdate()
    for row in rows:
        row.current = row.in_force_on(today)
    return render(
        request,
        "community_supports/offerings.html",
        {"offerings": rows, "form": form},
        status=_error_status(form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def offering_edit(request, offering_uuid):
    """Change an offering's dates (end it)."""
    registry.require_permission(request.user, CHANGE_OFFERING)
    offering = access_offering(request.user, offering_uuid)
    form = OfferingDatesForm(
        request.POST or None,
        initial={"start_date": offering.start_date, "end_date": offering.end_date},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.offering_update(
                offering=offering, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Offering changed.")
            return redirect("cs_offerings")
    return render(
        request,
        "community_supports/offering_edit.html",
        {"offering": offering, "form": form},
        status=_error_status(form),
    )


# --- Contracts ------------------------------------------------------------------


@login_required
@require_GET
def contracts(request):
    """The plan's contracts with ECM and Community Supports providers."""
    registry.require_permission(request.user, ADD_CONTRACT)
    _require_plan(request.user)
    rows = list(selectors.contracts_for_plan(request.user.organization_id))
    return render(
        request,
        "community_supports/contracts.html",
        {"contracts": rows, "plan_side": True},
    )


@login_required
@require_GET
def provider_contracts(request):
    """A provider's own contracts with every plan, read-only."""
    registry.require_permission(request.user, VIEW_CONTRACT)
    organization = request.user.organization
    if organization is None or not (
        organization.is_cs_provider or organization.is_ecm_provider
    ):
        raise PermissionDenied("This page is for a provider's staff.")
    rows = list(selectors.contracts_for_provider(organization.pk))
    return render(
        request,
        "community_supports/contracts.html",
        {"contracts": rows, "plan_side": False},
    )


@login_required
@require_GET
def contract_detail(request, contract_uuid):
    registry.require_permission(request.user, VIEW_CONTRACT)
    contract = access_contract(request.user, contract_uuid)
    audit_record(
        action="view", object_type="provider_contract", object_id=contract.uuid
    )
    return render(
        request,
        "community_supports/contract_detail.html",
        {
            "contract": contract,
            "may_change": contract.plan_id == request.user.organization_id
            and request.user.has_perm(CHANGE_CONTRACT),
        },
    )


def _contract_form_page(request, form, contract=None):
    return render(
        request,
        "community_supports/contract_form.html",
        {"form": form, "contract": contract},
        status=_error_status(form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_new(request):
    registry.require_permission(request.user, ADD_CONTRACT)
    _require_plan(request.user)
    form = ContractForm(
        request.POST or None,
        initial={"status": "draft", "capacity_unit": "members"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create(
                plan=request.user.organization,
                supports=form.cleaned_data["supports"],
                counties=form.cleaned_data["counties"],
                actor=request.user,
                **form.values(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Contract added.")
            return redirect(reverse("cs_contract_detail", args=[contract.uuid]))
    return _contract_form_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit(request, contract_uuid):
    registry.require_permission(request.user, CHANGE_CONTRACT)
    contract = access_plan_contract(request.user, contract_uuid)
    form = ContractForm(
        request.POST or None, initial=ContractForm.initial_from(contract)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_update(
                contract=contract,
                supports=form.cleaned_data["supports"],
                counties=form.cleaned_data["counties"],
                actor=request.user,
                **form.values(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Contract changed.")
            return redirect(reverse("cs_contract_detail", args=[contract.uuid]))
    return _contract_form_page(request, form, contract)
