"""Writes for organizations and users."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from calaim.accounts import roles
from calaim.accounts.models import Organization, User


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
