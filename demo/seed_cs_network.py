"""Demo Community Supports network: plan offerings by county and CS contracts.

Pacific Coast offers all 15 supports in San Diego (37) and the housing supports
and meals in Los Angeles (19); Golden Valley offers the housing supports in Los
Angeles. Contracts: Open Door Housing (housing supports), Good Food (meals),
Harbor Community Care (asthma remediation, respite, personal care). Recorded
through community_supports.services by each plan's administrator; rows that
exist are left alone, so running it twice changes nothing.
"""

from datetime import date
from decimal import Decimal

from calaim.accounts.models import County
from community_supports.models import CommunitySupport, PlanOffering, ProviderContract
from community_supports.services import catalog_load, contract_create, offering_create

START = date(2025, 1, 1)
HOUSING = [
    "housing-transition-navigation",
    "housing-deposits",
    "housing-tenancy-sustaining",
    "short-term-post-hospitalization-housing",
    "recuperative-care",
    "transitional-rent",
]
OFFERINGS = [
    # plan, admin, county, supports (None: all)
    ("Pacific Coast Health Plan", "plan.admin@pacificcoast.example", "37", None),
    ("Pacific Coast Health Plan", "plan.admin@pacificcoast.example", "19",
     [*HOUSING, "medically-tailored-meals"]),
    ("Golden Valley Health", "plan.admin@goldenvalley.example", "19", HOUSING),
]  # fmt: skip
CONTRACTS = [
    # plan, admin, provider, supports, counties, rate, capacity, unit
    ("Pacific Coast Health Plan", "plan.admin@pacificcoast.example",
     "Open Door Housing Services", HOUSING, ["37", "19"], "85.00", 60, "members"),
    ("Pacific Coast Health Plan", "plan.admin@pacificcoast.example",
     "Good Food Medically Tailored Meals", ["medically-tailored-meals"], ["37"],
     "12.50", 4000, "units"),
    ("Pacific Coast Health Plan", "plan.admin@pacificcoast.example",
     "Harbor Community Care",
     ["asthma-remediation", "respite-services", "personal-care-homemaker"],
     ["37"], "30.00", 25, "members"),
    ("Golden Valley Health", "plan.admin@goldenvalley.example",
     "Open Door Housing Services", HOUSING, ["19"], "80.00", 20, "members"),
]  # fmt: skip


def seed(stdout, organizations, users):
    """Add the demo offerings and CS contracts (idempotent)."""
    catalog_load()
    supports = {s.code: s for s in CommunitySupport.objects.all()}
    counties = {c.code: c for c in County.objects.all()}
    for plan_name, admin, county, codes in OFFERINGS:
        plan = organizations[plan_name]
        for code in codes or supports:
            exists = PlanOffering.objects.filter(
                plan=plan, support=supports[code], county_id=county
            ).exists()
            if not exists:
                offering_create(
                    plan=plan,
                    support=supports[code],
                    county=counties[county],
                    start_date=START,
                    actor=users[admin],
                )
    for plan_name, admin, provider, codes, county_codes, rate, cap, unit in CONTRACTS:
        plan, provider = organizations[plan_name], organizations[provider]
        exists = ProviderContract.objects.filter(
            plan=plan,
            provider=provider,
            service=ProviderContract.Service.COMMUNITY_SUPPORTS,
        ).exists()
        if exists:
            continue
        contract_create(
            plan=plan,
            provider=provider,
            service=ProviderContract.Service.COMMUNITY_SUPPORTS,
            supports=[supports[code] for code in codes],
            counties=[counties[code] for code in county_codes],
            start_date=START,
            rate_per_unit=Decimal(rate),
            capacity=cap,
            capacity_unit=unit,
            status=ProviderContract.Status.ACTIVE,
            actor=users[admin],
        )
    # The same line on every run (seed_demo's output is compared across runs).
    plans = {organizations[name] for name, *_ in OFFERINGS}
    total_offerings = PlanOffering.objects.filter(plan__in=plans).count()
    total_contracts = ProviderContract.objects.filter(
        plan__in=plans, service=ProviderContract.Service.COMMUNITY_SUPPORTS
    ).count()
    stdout.write(
        f"Community Supports network: {total_offerings} plan offerings, "
        f"{total_contracts} CS contracts."
    )
