"""Writes for organizations and users."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import get_application_model

from calaim.accounts import roles
from calaim.accounts.models import Organization, User
from calaim.audit.models import AuditAction
from calaim.audit.services import audit_record


def _check_role_fits(organization: Organization, role_names) -> None:
    capabilities = set(organization.capabilities) if organization else set()
    for name in role_names:
        role = roles.ROLES.get(name)
        if role is None:
            raise ValidationError({"roles": f"Unknown role {name!r}."})
        if role.organization_kinds and not capabilities.intersection(
            role.organization_kinds
        ):
            raise ValidationError(
                {
                    "roles": f"{role.label} needs an organization that is a "
                    f"{' or '.join(role.organization_kinds)}."
                }
            )


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str,
    organization: Organization,
    role_names: list[str],
    password: str | None = None,
    phone: str = "",
) -> User:
    """Create a person in an organization with roles that fit the organization."""
    _check_role_fits(organization, role_names)
    if any(roles.ROLES[name].machine for name in role_names):
        raise ValidationError({"roles": "Machine roles belong to service accounts."})
    user = User.objects.create_user(
        email=email,
        password=password,
        full_name=full_name,
        organization=organization,
        phone=phone,
    )
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


@transaction.atomic
def service_account_create(
    *, organization: Organization, role_name: str, name: str
) -> User:
    """Create the machine identity an API client, import or worker acts as."""
    _check_role_fits(organization, [role_name])
    if not roles.ROLES[role_name].machine and role_name != roles.INTERFACE_ADMIN:
        raise ValidationError({"roles": f"{role_name} is a role for people."})
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    user = User.objects.create_user(
        email=f"{slug}@service.{organization.uuid.hex[:8]}.invalid",
        password=None,
        full_name=name,
        organization=organization,
        is_service_account=True,
    )
    user.groups.set(Group.objects.filter(name=role_name))
    return user


# Which scopes each machine role may hold. A hospital feed only sends HL7; a
# provider's system reads its members and writes ECM and referral data.
SCOPES_FOR_ROLE = {
    roles.PROVIDER_API: ("members:read", "ecm:write", "referrals:write"),
    roles.HOSPITAL_FEED: ("hl7:write",),
}


@transaction.atomic
def api_client_create(
    *,
    organization: Organization,
    role_name: str,
    name: str,
    scopes,
    actor=None,
    client_id: str | None = None,
    client_secret: str | None = None,
):
    """Create an OAuth2 client and the service account it acts as.

    Returns `(client, client_secret)`: the plaintext secret exists only here,
    since the toolkit stores a hash of it, so the caller must hand it over now.
    `client_id` and `client_secret` are generated unless given (seed_demo gives
    fixed ones so a re-run can print them again).
    """
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(settings.OAUTH2_PROVIDER["SCOPES"])
    if unknown:
        raise ValidationError(
            {"scopes": f"Unknown scopes: {' '.join(sorted(unknown))}"}
        )
    if not scopes:
        raise ValidationError({"scopes": "An API client needs at least one scope."})
    fitting = SCOPES_FOR_ROLE.get(role_name)
    if fitting is None:
        raise ValidationError({"roles": f"{role_name} is not a role for API clients."})
    if not set(scopes) <= set(fitting):
        raise ValidationError(
            {"scopes": f"{role_name} may hold only: {' '.join(fitting)}."}
        )
    account = service_account_create(
        organization=organization, role_name=role_name, name=name
    )
    ApiClient = get_application_model()
    secret = client_secret or generate_client_secret()
    client = ApiClient.objects.create(
        client_id=client_id or generate_client_id(),
        client_secret=secret,  # hashed on save
        hash_client_secret=True,
        client_type=ApiClient.CLIENT_CONFIDENTIAL,
        authorization_grant_type=ApiClient.GRANT_CLIENT_CREDENTIALS,
        name=name,
        user=account,
        allowed_scopes=" ".join(scopes),
    )
    audit_record(
        action=AuditAction.CREATE,
        object_type="api_client",
        object_id=client.client_id,
        actor=actor,
    )
    return client, secret


def system_account(*, organization: Organization, name: str) -> User:
    """The named service account that system work (imports, timers) acts as.

    It holds no role: what it may do is decided by the service that uses it, and
    the audit trail shows its name. Created on first use.
    """
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    email = f"{slug}@system.{organization.uuid.hex[:8]}.invalid"
    account = User.objects.filter(email=email).first()
    if account is None:
        account = User.objects.create_user(
            email=email,
            password=None,
            full_name=name,
            organization=organization,
            is_service_account=True,
        )
    return account
