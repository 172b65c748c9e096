"""Plan offerings and provider contracts: selectors, services and pages."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from calaim.accounts.models import County
from calaim.audit.models import AuditEvent
from community_supports.models import CommunitySupport, PlanOffering, ProviderContract
from community_supports.selectors import (
    contracts_in_force,
    cs_contracts_in_force,
    plan_offers,
)
from community_supports.services import (
    contract_create,
    contract_update,
    offering_create,
    offering_update,
)
from tests import factories

pytestmark = pytest.mark.django_db

OFFERINGS_QUERIES = 5
CONTRACTS_QUERIES = 5
PROVIDER_CONTRACTS_QUERIES = 5
CATALOG_QUERIES = 5


def support(code="medically-tailored-meals"):
    return CommunitySupport.objects.get(code=code)


def county(code="37"):
    return County.objects.get(code=code)


def offer(cast, *, start=date(2026, 1, 1), end=None, code="medically-tailored-meals"):
    return offering_create(
        plan=cast.plan,
        support=support(code),
        county=county(),
        start_date=start,
        end_date=end,
        actor=cast.plan_admin,
    )


def cs_contract(cast, provider=None, **values):
    defaults = {
        "service": "cs",
        "start_date": date(2026, 1, 1),
        "status": "active",
        "capacity": 5,
    }
    return contract_create(
        plan=cast.plan,
        provider=provider or cast.cs_organization,
        supports=[support()],
        counties=[county()],
        actor=cast.plan_admin,
        **{**defaults, **values},
    )


# --- offerings ------------------------------------------------------------------


def test_plan_offers_only_that_support_there_and_then(cast):
    offer(cast, end=date(2026, 6, 30))
    meals, rent = support(), support("transitional-rent")
    args = {"plan": cast.plan, "county": "37"}
    assert plan_offers(**args, support=meals, on=date(2026, 1, 1))
    assert plan_offers(**args, support=meals, on=date(2026, 6, 30))
    assert not plan_offers(**args, support=meals, on=date(2026, 7, 1))
    assert not plan_offers(**args, support=meals, on=date(2025, 12, 31))
    assert not plan_offers(**args, support=rent, on=date(2026, 3, 1))
    assert not plan_offers(
        plan=cast.plan, county="19", support=meals, on=date(2026, 3, 1)
    )
    assert not plan_offers(
        plan=cast.other_plan, county="37", support=meals, on=date(2026, 3, 1)
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 6, 30), None),  # touches the last day
        (date(2025, 1, 1), date(2026, 1, 1)),  # touches the first day
        (date(2025, 1, 1), None),  # open, covers it all
    ],
)
def test_overlapping_offering_is_refused_and_nothing_written(cast, start, end):
    offer(cast, end=date(2026, 6, 30))
    with pytest.raises(ValidationError, match="already offers"):
        offer(cast, start=start, end=end)
    assert PlanOffering.objects.count() == 1


def test_adjacent_offering_and_other_county_are_fine(cast):
    offer(cast, end=date(2026, 6, 30))
    offer(cast, start=date(2026, 7, 1))
    offering_create(
        plan=cast.plan, support=support(), county=county("19"),
        start_date=date(2026, 1, 1), actor=cast.plan_admin,
    )  # fmt: skip
    assert PlanOffering.objects.count() == 3


def test_database_refuses_an_overlap_that_skips_validation(cast):
    from django.db import IntegrityError, transaction

    offer(cast)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanOffering.objects.create(
            plan=cast.plan, support=support(), county=county(),
            start_date=date(2027, 1, 1),
        )  # fmt: skip


def test_only_the_plans_own_admin_manages_its_offerings(cast):
    with pytest.raises(PermissionDenied):
        offering_create(
            plan=cast.plan, support=support(), county=county(),
            start_date=date(2026, 1, 1), actor=cast.other_plan_admin,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        offering_create(
            plan=cast.plan, support=support(), county=county(),
            start_date=date(2026, 1, 1), actor=cast.lead_care_manager,
        )  # fmt: skip
    assert not PlanOffering.objects.exists()


def test_ending_an_offering(cast):
    row = offer(cast)
    offering_update(
        offering=row, start_date=row.start_date, end_date=date(2026, 3, 31),
        actor=cast.plan_admin,
    )  # fmt: skip
    assert not plan_offers(
        plan=cast.plan, support=support(), county="37", on=date(2026, 4, 1)
    )
    with pytest.raises(ValidationError):
        offering_update(
            offering=row, start_date=row.start_date, end_date=date(2025, 1, 1),
            actor=cast.plan_admin,
        )  # fmt: skip


# --- contracts ------------------------------------------------------------------


def test_cs_contracts_in_force_by_support_county_status_and_dates(cast):
    good = cs_contract(cast)
    cs_contract(cast, provider=cast.other_cs_organization, status="suspended")
    cs_contract(
        cast,
        provider=factories.OrganizationFactory(cs=True),
        end_date=date(2026, 1, 31),
    )
    args = {"plan": cast.plan, "county": "37"}
    on = date(2026, 3, 1)
    assert list(cs_contracts_in_force(**args, support=support(), on=on)) == [good]
    assert not cs_contracts_in_force(
        **args, support=support("transitional-rent"), on=on
    ).exists()
    assert not cs_contracts_in_force(
        plan=cast.plan, county="19", support=support(), on=on
    ).exists()
    assert (
        cs_contracts_in_force(**args, support=support(), on=date(2026, 1, 15)).count()
        == 2
    )


def test_cs_contracts_in_force_is_one_query(cast, django_assert_num_queries):
    for _ in range(3):
        cs_contract(cast, provider=factories.OrganizationFactory(cs=True))
    meals = support()
    with django_assert_num_queries(1):
        rows = list(
            cs_contracts_in_force(
                plan=cast.plan, support=meals, county="37", on=date(2026, 3, 1)
            )
        )
        assert [r.provider.name for r in rows]


def test_ecm_contracts_keep_working_and_respect_status(cast):
    ecm = ProviderContract.objects.create(
        plan=cast.plan, provider=cast.ecm_provider, service="ecm",
        start_date=date(2025, 1, 1),
    )  # fmt: skip
    ecm.counties.add("37")
    assert ecm.status == "active"
    args = {"plan_id": cast.plan.pk, "service": "ecm", "county_code": "37"}
    assert list(contracts_in_force(**args, on=date(2026, 1, 1))) == [ecm]
    ProviderContract.objects.filter(pk=ecm.pk).update(status="terminated")
    assert not contracts_in_force(**args, on=date(2026, 1, 1)).exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"service": "cs", "supports": []}, "supports"),
        ({"service": "ecm"}, "supports"),  # an ECM contract with supports
        ({"service": "cs", "counties": []}, "counties"),
        ({"service": "cs", "may_presumptively_authorize": True},
         "may_presumptively_authorize"),
        ({"service": "cs", "end_date": date(2025, 1, 1)}, "end_date"),
        ({"service": "cs", "rate_per_unit": Decimal("-1")}, "rate_per_unit"),
        ({"service": "cs", "status": "pending"}, "status"),
    ],
)  # fmt: skip
def test_bad_contract_is_refused_and_nothing_written(cast, values, field):
    arguments = {
        "plan": cast.plan,
        "provider": cast.cs_organization,
        "supports": [support()],
        "counties": [county()],
        "start_date": date(2026, 1, 1),
        "actor": cast.plan_admin,
        **values,
    }
    with pytest.raises(ValidationError) as error:
        contract_create(**arguments)
    assert field in error.value.message_dict
    assert not ProviderContract.objects.exists()


def test_cs_contract_with_an_ecm_only_provider_is_refused(cast):
    with pytest.raises(ValidationError, match="not a Community Supports provider"):
        cs_contract(cast, provider=cast.other_ecm_provider)


def test_other_plans_admin_cannot_change_a_contract(cast):
    contract = cs_contract(cast)
    with pytest.raises(PermissionDenied):
        contract_update(
            contract=contract, supports=[support()], counties=[county()],
            actor=cast.other_plan_admin, status="terminated",
        )  # fmt: skip
    contract.refresh_from_db()
    assert contract.status == "active"


# --- pages ----------------------------------------------------------------------


def test_offerings_page_lists_and_adds(client, cast, django_assert_num_queries):
    for code in ("housing-deposits", "respite-services", "asthma-remediation"):
        offer(cast, code=code)
    client.force_login(cast.plan_admin)
    client.get(reverse("cs_offerings"))
    with django_assert_num_queries(OFFERINGS_QUERIES):
        response = client.get(reverse("cs_offerings"))
    body = response.content.decode()
    assert body.count("data-offering=") == 3
    assert "Asthma Remediation" in body

    response = client.post(
        reverse("cs_offerings"),
        {"support": "transitional-rent", "county": "37", "start_date": "2026-01-01"},
    )
    assert response.status_code == 302
    assert plan_offers(
        plan=cast.plan, support=support("transitional-rent"), county="37",
        on=date(2026, 2, 1),
    )  # fmt: skip
    assert AuditEvent.objects.filter(object_type="plan_offering").exists()


def test_offerings_page_query_count_does_not_grow(
    client, cast, django_assert_num_queries
):
    for code in (
        "housing-deposits",
        "respite-services",
        "asthma-remediation",
        "sobering-centers",
        "recuperative-care",
        "day-habilitation",
    ):
        offer(cast, code=code)  # fmt: skip
    client.force_login(cast.plan_admin)
    client.get(reverse("cs_offerings"))
    with django_assert_num_queries(OFFERINGS_QUERIES):
        client.get(reverse("cs_offerings"))


def test_overlapping_offering_on_the_page_is_400_with_the_reason(client, cast):
    offer(cast)
    client.force_login(cast.plan_admin)
    response = client.post(
        reverse("cs_offerings"),
        {"support": "medically-tailored-meals", "county": "37",
         "start_date": "2026-05-01"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "already offers" in response.content.decode()
    assert PlanOffering.objects.count() == 1


def test_offering_dates_out_of_order_are_400(client, cast):
    row = offer(cast)
    client.force_login(cast.plan_admin)
    response = client.post(
        reverse("cs_offering_edit", args=[row.uuid]),
        {"start_date": "2026-01-01", "end_date": "2025-01-01"},
    )
    assert response.status_code == 400
    row.refresh_from_db()
    assert row.end_date is None


def test_contract_pages_create_show_and_edit(client, cast):
    client.force_login(cast.plan_admin)
    response = client.post(
        reverse("cs_contract_new"),
        {
            "provider": str(cast.cs_organization.uuid),
            "service": "cs",
            "supports": ["medically-tailored-meals", "asthma-remediation"],
            "counties": ["37", "19"],
            "start_date": "2026-01-01",
            "rate_per_unit": "12.50",
            "capacity": "300",
            "capacity_unit": "units",
            "status": "draft",
        },
    )
    assert response.status_code == 302
    contract = ProviderContract.objects.get(provider=cast.cs_organization)
    assert contract.rate_per_unit == Decimal("12.50")
    assert contract.capacity_unit == "units"
    assert {s.code for s in contract.supports.all()} == {
        "medically-tailored-meals",
        "asthma-remediation",
    }
    detail = client.get(response["Location"]).content.decode()
    assert "Asthma Remediation" in detail
    assert "300 units of service at once" in detail

    # A draft stays hidden from the provider.
    client.force_login(cast.cs_provider)
    assert client.get(response["Location"]).status_code == 404
    assert (
        str(contract.uuid)
        not in client.get(reverse("cs_provider_contracts")).content.decode()
    )

    client.force_login(cast.plan_admin)
    edit = client.post(
        reverse("cs_contract_edit", args=[contract.uuid]),
        {
            "provider": str(cast.cs_organization.uuid),
            "service": "cs",
            "supports": ["medically-tailored-meals"],
            "counties": ["37"],
            "start_date": "2026-01-01",
            "capacity_unit": "units",
            "status": "active",
        },
    )
    assert edit.status_code == 302
    contract.refresh_from_db()
    assert contract.status == "active"
    assert contract.rate_per_unit is None
    client.force_login(cast.cs_provider)
    page = client.get(reverse("cs_provider_contracts")).content.decode()
    assert str(contract.uuid) in page
    assert "Cast Plan" in page
    assert 'href="/network/contracts/' in page
    assert "/edit/" not in client.get(response["Location"]).content.decode()


def test_contract_form_errors_are_400_and_write_nothing(client, cast):
    client.force_login(cast.plan_admin)
    response = client.post(
        reverse("cs_contract_new"),
        {
            "provider": str(cast.cs_organization.uuid),
            "service": "cs",
            "counties": ["37"],
            "start_date": "2026-01-01",
            "capacity_unit": "members",
            "status": "active",
        },
    )
    assert response.status_code == 400
    assert "names its supports" in response.content.decode()
    assert not ProviderContract.objects.exists()


def test_contracts_page_query_count_does_not_grow(
    client, cast, django_assert_num_queries
):
    cs_contract(cast)
    client.force_login(cast.plan_admin)
    client.get(reverse("cs_contracts"))
    with django_assert_num_queries(CONTRACTS_QUERIES):
        client.get(reverse("cs_contracts"))
    for _ in range(4):
        cs_contract(cast, provider=factories.OrganizationFactory(cs=True))
    with django_assert_num_queries(CONTRACTS_QUERIES):
        body = client.get(reverse("cs_contracts")).content.decode()
    assert body.count("data-contract=") == 5


def test_catalog_page_shows_the_fifteen(client, cast):
    client.force_login(cast.lead_care_manager)
    body = client.get(reverse("cs_catalog")).content.decode()
    assert body.count("data-support=") == 15
    assert "H0044-U2" in body


def test_catalog_page_query_count_is_pinned(client, cast, django_assert_num_queries):
    client.force_login(cast.lead_care_manager)
    client.get(reverse("cs_catalog"))
    with django_assert_num_queries(CATALOG_QUERIES):
        client.get(reverse("cs_catalog"))


def test_provider_contracts_page_query_count_does_not_grow(
    client, cast, django_assert_num_queries
):
    cs_contract(cast)
    client.force_login(cast.cs_provider)
    client.get(reverse("cs_provider_contracts"))
    with django_assert_num_queries(PROVIDER_CONTRACTS_QUERIES):
        client.get(reverse("cs_provider_contracts"))
    other_plan_contract = contract_create(
        plan=cast.other_plan,
        provider=cast.cs_organization,
        service="cs",
        supports=[support("respite-services")],
        counties=[county("19")],
        start_date=date(2026, 1, 1),
        actor=cast.other_plan_admin,
    )
    with django_assert_num_queries(PROVIDER_CONTRACTS_QUERIES):
        body = client.get(reverse("cs_provider_contracts")).content.decode()
    assert body.count("data-contract=") == 2
    assert str(other_plan_contract.uuid) in body
