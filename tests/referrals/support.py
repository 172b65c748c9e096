"""Test helpers of referrals: a support, its codes and limits, a plan offering
it, contracted providers, and a referring care manager (synthetic data)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from calaim.accounts import roles
from community_supports.models import (
    CommunitySupport,
    PlanOffering,
    ProviderContract,
    ServiceCode,
    SupportLimit,
)
from tests import factories as f

COUNTY = "37"


PAIR = ("Z9044", "U2")  # a made-up pair, so the seeded catalog never collides


def support(code="test-deposits", *, retro=False, limits=(), codes=(PAIR,)):
    """A support of our own (not the seeded catalog's), with its code pair."""
    found = CommunitySupport.objects.filter(code=code).first()
    if found:
        return found
    created = CommunitySupport.objects.create(
        code=code,
        name=code.replace("-", " ").title(),
        volume=2,
        retro_authorization_allowed=retro,
    )
    for hcpcs, modifier in codes:
        ServiceCode.objects.create(
            support=created, hcpcs=hcpcs, modifier=modifier, unit="service",
            effective_from=date(2022, 1, 1),
        )  # fmt: skip
    for key, kind, quantity, once in limits:
        SupportLimit.objects.create(
            support=created, key=key, kind=kind, quantity=Decimal(quantity),
            exception_allowed_once=once,
        )  # fmt: skip
    return created


def offer_support(plan, cs, county=COUNTY, start=date(2024, 1, 1)):
    return PlanOffering.objects.get_or_create(
        plan=plan, support=cs, county_id=county, defaults={"start_date": start}
    )[0]


def contract(plan, provider, cs, *, capacity=None, unit="members", county=COUNTY):
    found = ProviderContract.objects.create(
        plan=plan,
        provider=provider,
        service=ProviderContract.Service.COMMUNITY_SUPPORTS,
        start_date=date(2024, 1, 1),
        capacity=capacity,
        capacity_unit=unit,
    )
    found.supports.add(cs)
    found.counties.add(county)
    return found


@dataclass
class World:
    plan: object
    member: object
    support: object
    referrer_org: object
    care_manager: object
    plan_admin: object
    providers: list = field(default_factory=list)
    staff: list = field(default_factory=list)
    contracts: list = field(default_factory=list)


def world(*, providers=2, capacity=5, retro=False, limits=(), code="test-deposits"):
    """A plan offering one support in San Diego, `providers` contracted CS
    providers (each with one staff member), and an ECM provider whose lead
    care manager refers the member."""
    plan = f.OrganizationFactory(plan=True)
    referrer_org = f.OrganizationFactory(ecm=True)
    care_manager = f.UserFactory(organization=referrer_org, roles=[roles.CARE_MANAGER])
    plan_admin = f.UserFactory(organization=plan, roles=[roles.PLAN_ADMIN])
    member = f.MemberFactory()
    f.EnrollmentFactory(member=member, plan=plan)
    f.EpisodeFactory(
        member=member, plan=plan, ecm_provider=referrer_org,
        lead_care_manager=care_manager,
    )  # fmt: skip
    cs = support(code, retro=retro, limits=limits)
    offer_support(plan, cs)
    result = World(plan, member, cs, referrer_org, care_manager, plan_admin)
    for index in range(providers):
        provider = f.OrganizationFactory(
            cs=True, name=f"Provider {chr(65 + index)} {plan.pk}"
        )
        result.providers.append(provider)
        result.staff.append(
            f.UserFactory(organization=provider, roles=[roles.CS_PROVIDER])
        )
        result.contracts.append(contract(plan, provider, cs, capacity=capacity))
    return result
