"""Permission-matrix entries for the network pages and the catalog API."""

from datetime import date

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import API, register

PLAN_ADMINS = {"plan_admin", "other_plan_admin"}
NOT_PLAN_ADMINS = set(PEOPLE) - PLAN_ADMINS


def cs_contract(cast):
    """A Community Supports contract between the cast's plan and CS provider."""
    contract = cast.__dict__.get("cs_contract")
    if contract is None:
        from community_supports.models import CommunitySupport
        from community_supports.services import contract_create

        contract = contract_create(
            plan=cast.plan,
            provider=cast.cs_organization,
            service="cs",
            supports=CommunitySupport.objects.filter(code="medically-tailored-meals"),
            counties=["37"],
            start_date=date(2026, 1, 1),
            status="active",
            capacity=10,
            actor=cast.plan_admin,
        )
        cast.__dict__["cs_contract"] = contract
    return contract


def offering(cast):
    row = cast.__dict__.get("cs_offering")
    if row is None:
        from calaim.accounts.models import County
        from community_supports.models import CommunitySupport
        from community_supports.services import offering_create

        row = offering_create(
            plan=cast.plan,
            support=CommunitySupport.objects.get(code="medically-tailored-meals"),
            county=County.objects.get(code="37"),
            start_date=date(2026, 1, 1),
            actor=cast.plan_admin,
        )
        cast.__dict__["cs_offering"] = row
    return row


register(
    "cs_catalog", "GET", lambda cast: reverse("cs_catalog"), allowed=PEOPLE
)  # fmt: skip
register(
    "cs_offerings",
    "GET",
    lambda cast: reverse("cs_offerings"),
    allowed=PLAN_ADMINS | {"auditor"},
    forbidden=NOT_PLAN_ADMINS - {"auditor"},
)
register(
    "cs_offering_create",
    "POST",
    lambda cast: reverse("cs_offerings"),
    data=lambda cast: {
        "support": "respite-services",
        "county": "37",
        "start_date": "2026-02-01",
    },
    allowed=PLAN_ADMINS,
    forbidden=NOT_PLAN_ADMINS,
    ok_status=(302,),
)
register(
    "cs_offering_edit",
    "GET",
    lambda cast: reverse("cs_offering_edit", args=[offering(cast).uuid]),
    allowed={"plan_admin"},
    forbidden=NOT_PLAN_ADMINS,
)
register(
    "cs_contracts",
    "GET",
    lambda cast: reverse("cs_contracts"),
    allowed=PLAN_ADMINS,
    forbidden=NOT_PLAN_ADMINS,
)
register(
    "cs_contract_new",
    "GET",
    lambda cast: reverse("cs_contract_new"),
    allowed=PLAN_ADMINS,
    forbidden=NOT_PLAN_ADMINS,
)
register(
    "cs_contract_detail",
    "GET",
    lambda cast: reverse("cs_contract_detail", args=[cs_contract(cast).uuid]),
    # The two parties; the provider-side staff of other organizations hold the
    # permission and get 404; roles without it get 403.
    allowed={"plan_admin", "cs_provider"},
    forbidden={
        "lead_care_manager",
        "colleague",
        "other_care_manager",
        "auditor",
        "interface_admin",
    },
)
register(
    "cs_contract_edit",
    "GET",
    lambda cast: reverse("cs_contract_edit", args=[cs_contract(cast).uuid]),
    allowed={"plan_admin"},
    forbidden=NOT_PLAN_ADMINS,
)
register(
    "cs_provider_contracts",
    "GET",
    lambda cast: reverse("cs_provider_contracts"),
    allowed={"supervisor", "provider_admin", "cs_provider", "other_cs_provider"},
    forbidden={
        "lead_care_manager",
        "colleague",
        "other_care_manager",
        "plan_admin",
        "other_plan_admin",
        "auditor",
        "interface_admin",
    },
)
register(
    "api_community_supports",
    "GET",
    lambda cast: reverse("api_community_supports"),
    kind=API,
    allowed={*PEOPLE, "provider_api"},
    forbidden={"hospital_feed"},
)
