"""Roles, declared in code and synced to groups after every migrate.

Each role is a Django group. The platform declares the roles; each app adds the
model permissions its roles need with `grant()` in its AppConfig.ready(), so a
lower layer never names an upper layer's models. `sync_roles()` makes every group
hold exactly the declared permissions (and fails loudly on a misspelt one).
"""

from dataclasses import dataclass, field

CARE_MANAGER = "care_manager"
SUPERVISOR = "supervisor"
PROVIDER_ADMIN = "provider_admin"
PLAN_ADMIN = "plan_admin"
CS_PROVIDER = "cs_provider"
INTERFACE_ADMIN = "interface_admin"
AUDITOR = "auditor"
PROVIDER_API = "provider_api"
HOSPITAL_FEED = "hospital_feed"


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    description: str
    machine: bool = False
    # Which organization capabilities a holder's organization must have (any of).
    organization_kinds: tuple[str, ...] = ()
    permissions: set[str] = field(default_factory=set, compare=False, hash=False)


ROLES: dict[str, Role] = {
    role.name: role
    for role in [
        Role(
            CARE_MANAGER,
            "Care manager",
            "Works a caseload as lead care manager.",
            organization_kinds=("ecm_provider",),
        ),
        Role(
            SUPERVISOR,
            "Supervisor",
            "Sees the caseloads of the organization, reassigns, covers absences.",
            organization_kinds=("ecm_provider",),
        ),
        Role(
            PROVIDER_ADMIN,
            "Provider administrator",
            "Administers an ECM or CS provider organization.",
            organization_kinds=("ecm_provider", "cs_provider"),
        ),
        Role(
            PLAN_ADMIN,
            "Plan administrator",
            "Enrollment, authorizations, assignment, contracts, reports.",
            organization_kinds=("plan",),
        ),
        Role(
            CS_PROVIDER,
            "Community Supports staff",
            "Receives and works referrals for Community Supports.",
            organization_kinds=("cs_provider",),
        ),
        Role(
            INTERFACE_ADMIN,
            "Interface administrator",
            "Watches HL7 feeds and resolves unmatched messages.",
            organization_kinds=("plan",),
        ),
        Role(
            AUDITOR,
            "Auditor / privacy officer",
            "Reads the audit trail of the organization and its members.",
        ),
        Role(
            PROVIDER_API,
            "Provider system (API)",
            "A provider's system calling the REST API.",
            machine=True,
            organization_kinds=("ecm_provider", "cs_provider"),
        ),
        Role(
            HOSPITAL_FEED,
            "Hospital feed (HL7)",
            "A hospital or HIE sending ADT messages.",
            machine=True,
            organization_kinds=("hospital", "plan"),
        ),
    ]
}


def grant(role_name: str, *permissions: str) -> None:
    """Declare that `role_name` holds these "app_label.codename" permissions."""
    ROLES[role_name].permissions.update(permissions)


def sync_roles(using="default") -> None:
    """Create a group per role and give it exactly its declared permissions."""
    from django.contrib.auth.models import Group, Permission

    wanted = {perm for role in ROLES.values() for perm in role.permissions}
    found = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    missing = sorted(wanted - found.keys())
    if missing:
        raise LookupError(f"Roles name permissions that do not exist: {missing}")
    for role in ROLES.values():
        group, _ = Group.objects.using(using).get_or_create(name=role.name)
        group.permissions.set([found[perm] for perm in role.permissions])


def sync_roles_after_migrate(sender, using="default", **kwargs):
    """post_migrate fires once per app: sync after the last app, when every
    app's permissions exist."""
    from django.apps import apps

    with_models = [c for c in apps.get_app_configs() if c.models_module is not None]
    if sender.label == with_models[-1].label:
        sync_roles(using=using)
