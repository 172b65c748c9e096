"""Organizations, counties, plan codes, users and roles."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from calaim.accounts import roles
from calaim.accounts.models import County, Organization, PlanCode, User
from calaim.accounts.services import service_account_create, user_create
from calaim.validators import normalize_cin, npi_is_valid, validate_cin
from tests.factories import OrganizationFactory


@pytest.mark.parametrize("npi", ["1234567893", "1558598797", "1993999998"])
def test_known_valid_npis_pass_the_luhn_check(npi):
    assert npi_is_valid(npi)


@pytest.mark.parametrize(
    "npi",
    [
        "1629172133",  # a typo seen in real data
        "1234567890",
        "3234567893",
        "123456789",
        "12345678931",
        "12345678a3",
        "",
    ],
)
def test_bad_npis_are_refused(npi):
    assert not npi_is_valid(npi)


def test_an_organization_with_a_bad_npi_fails_validation(db):
    organization = Organization(
        name="Typo Clinic", is_ecm_provider=True, npi="1629172133"
    )
    with pytest.raises(ValidationError) as raised:
        organization.full_clean()
    assert "npi" in raised.value.message_dict


def test_an_organization_must_have_a_capability(db):
    with pytest.raises(IntegrityError):
        Organization.objects.create(name="Nothing at all")


def test_the_58_counties_are_seeded_with_dhcs_and_fips_codes(db):
    assert County.objects.count() == 58
    assert County.objects.get(code="19").name == "Los Angeles"
    assert County.objects.get(code="19").fips == "06037"
    assert County.objects.get(code="37").fips == "06073"
    assert County.objects.get(code="58").name == "Yuba"


def test_a_plan_code_is_unique_per_plan_and_county(db):
    plan = OrganizationFactory(plan=True)
    other = OrganizationFactory(plan=True)
    san_diego = County.objects.get(code="37")
    PlanCode.objects.create(plan=plan, county=san_diego, code="170")
    with pytest.raises(IntegrityError):
        PlanCode.objects.create(plan=other, county=san_diego, code="170")


def test_every_role_is_a_group_with_exactly_its_permissions(db):
    for role in roles.ROLES.values():
        group = Group.objects.get(name=role.name)
        held = {
            f"{app}.{code}"
            for app, code in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert held == role.permissions, role.name
    assert "audit.view_auditevent" in roles.ROLES[roles.AUDITOR].permissions
    assert "audit.view_auditevent" not in roles.ROLES[roles.CARE_MANAGER].permissions


def test_a_role_naming_a_missing_permission_fails_loudly(db):
    roles.grant(roles.AUDITOR, "audit.fly_to_the_moon")
    try:
        with pytest.raises(LookupError, match="fly_to_the_moon"):
            roles.sync_roles()
    finally:
        roles.ROLES[roles.AUDITOR].permissions.discard("audit.fly_to_the_moon")


def test_user_create_puts_a_person_in_roles_that_fit_the_organization(db):
    plan = OrganizationFactory(plan=True)
    user = user_create(
        email="Pat.Admin@Plan.Example",
        full_name="Pat Admin",
        organization=plan,
        role_names=[roles.PLAN_ADMIN],
        password="a-long-password-123",
    )
    assert user.email == "pat.admin@plan.example"
    assert user.role_names == {roles.PLAN_ADMIN}
    with pytest.raises(ValidationError, match="needs an organization"):
        user_create(
            email="cm@plan.example",
            full_name="Wrong Place",
            organization=plan,
            role_names=[roles.CARE_MANAGER],
        )
    with pytest.raises(ValidationError, match="service accounts"):
        user_create(
            email="bot@plan.example",
            full_name="Bot",
            organization=plan,
            role_names=[roles.HOSPITAL_FEED],
        )
    assert User.objects.count() == 1


def test_e_mail_addresses_are_unique_whatever_their_case(db):
    plan = OrganizationFactory(plan=True)
    User.objects.create_user(email="a@example.org", full_name="A", organization=plan)
    with pytest.raises(IntegrityError):
        User.objects.create(email="A@EXAMPLE.ORG", full_name="B", organization=plan)


def test_a_person_must_belong_to_an_organization(db):
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="nobody@example.org", full_name="Nobody")


def test_service_accounts_cannot_sign_in_with_a_password(db):
    hospital = OrganizationFactory(hospital=True)
    account = service_account_create(
        organization=hospital, role_name=roles.HOSPITAL_FEED, name="ADT feed"
    )
    assert account.is_service_account
    assert not account.has_usable_password()
    assert account.role_names == {roles.HOSPITAL_FEED}


def test_cins_and_bic_ids(db):
    assert normalize_cin(" 91234567a ") == "91234567A"
    assert normalize_cin("91234567A29180") == "91234567A"
    validate_cin("91234567A")
    for bad in ("81234567A", "9123456A", "912345678", "91234567AB"):
        with pytest.raises(ValidationError):
            validate_cin(bad)
