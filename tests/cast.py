"""The test cast (DESIGN.md §3): one fixed set of people around one member.

Every page and endpoint is checked against all of them (tests/matrix.py).
"""

from dataclasses import dataclass, field

from calaim.accounts import roles
from tests import factories

# People who sign in with a browser.
PEOPLE = [
    "lead_care_manager",  # the member's lead care manager (responsible)
    "colleague",  # same ECM provider, no responsibility for the member
    "supervisor",  # the ECM provider's supervisor
    "provider_admin",  # the ECM provider's administrator
    "other_care_manager",  # another ECM provider's care manager
    "plan_admin",  # the member's plan
    "other_plan_admin",  # a plan the member was never enrolled with
    "cs_provider",  # CS provider staff with an open referral for the member
    "other_cs_provider",  # CS provider staff without one
    "auditor",  # the member's plan's privacy officer
    "interface_admin",  # the member's plan's HL7 interface administrator
]
# Machines (API clients); the API issue gives them tokens.
MACHINES = ["provider_api", "hospital_feed"]
ANONYMOUS = "anonymous"
EVERYONE = [*PEOPLE, *MACHINES, ANONYMOUS]


@dataclass
class Cast:
    member: object
    other_member: object  # nobody in the cast but its own plan admin is responsible
    plan: object
    other_plan: object
    ecm_provider: object
    other_ecm_provider: object
    cs_organization: object
    other_cs_organization: object
    hospital: object
    episode: object
    referral: object
    users: dict = field(default_factory=dict)

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


def build_cast() -> Cast:
    f = factories
    plan = f.OrganizationFactory(name="Cast Plan", plan=True)
    other_plan = f.OrganizationFactory(name="Cast Other Plan", plan=True)
    ecm_provider = f.OrganizationFactory(name="Cast ECM Provider", ecm=True, cs=True)
    other_ecm_provider = f.OrganizationFactory(name="Cast Other ECM Provider", ecm=True)
    cs_organization = f.OrganizationFactory(name="Cast CS Provider", cs=True)
    other_cs_organization = f.OrganizationFactory(name="Cast Other CS", cs=True)
    hospital = f.OrganizationFactory(name="Cast Hospital", hospital=True)

    def person(name, organization, role):
        return f.UserFactory(
            email=f"{name.replace('_', '.')}@cast.example",
            full_name=name.replace("_", " ").title(),
            organization=organization,
            roles=[role],
        )

    users = {
        "lead_care_manager": person(
            "lead_care_manager", ecm_provider, roles.CARE_MANAGER
        ),
        "colleague": person("colleague", ecm_provider, roles.CARE_MANAGER),
        "supervisor": person("supervisor", ecm_provider, roles.SUPERVISOR),
        "provider_admin": person("provider_admin", ecm_provider, roles.PROVIDER_ADMIN),
        "other_care_manager": person(
            "other_care_manager", other_ecm_provider, roles.CARE_MANAGER
        ),
        "plan_admin": person("plan_admin", plan, roles.PLAN_ADMIN),
        "other_plan_admin": person("other_plan_admin", other_plan, roles.PLAN_ADMIN),
        "cs_provider": person("cs_provider", cs_organization, roles.CS_PROVIDER),
        "other_cs_provider": person(
            "other_cs_provider", other_cs_organization, roles.CS_PROVIDER
        ),
        "auditor": person("auditor", plan, roles.AUDITOR),
        "interface_admin": person("interface_admin", plan, roles.INTERFACE_ADMIN),
    }
    from calaim.accounts.services import service_account_create

    users["provider_api"] = service_account_create(
        organization=ecm_provider,
        role_name=roles.PROVIDER_API,
        name="Cast provider API",
    )
    users["hospital_feed"] = service_account_create(
        organization=hospital, role_name=roles.HOSPITAL_FEED, name="Cast hospital feed"
    )

    member = f.MemberFactory(first_name="Casey", last_name="Castmember")
    f.EnrollmentFactory(member=member, plan=plan)
    other_member = f.MemberFactory(first_name="Otto", last_name="Othermember")
    f.EnrollmentFactory(member=other_member, plan=other_plan)
    episode = f.EpisodeFactory(
        member=member,
        plan=plan,
        ecm_provider=ecm_provider,
        lead_care_manager=users["lead_care_manager"],
    )
    referral = f.ReferralFactory(
        member=member,
        receiving_organization=cs_organization,
        plan=plan,
        referring_organization=ecm_provider,
        referred_by=users["lead_care_manager"],
        status="received",
    )
    f.OfferFactory(referral=referral)
    return Cast(
        member=member,
        other_member=other_member,
        plan=plan,
        other_plan=other_plan,
        ecm_provider=ecm_provider,
        other_ecm_provider=other_ecm_provider,
        cs_organization=cs_organization,
        other_cs_organization=other_cs_organization,
        hospital=hospital,
        episode=episode,
        referral=referral,
        users=users,
    )
