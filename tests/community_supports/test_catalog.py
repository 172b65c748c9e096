"""The catalog: 15 supports with code + modifier pairs and limits, an idempotent
loader that keeps administrators' edits, admin history, and the read-only API."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from community_supports.limits import KINDS
from community_supports.models import (
    CatalogChange,
    CommunitySupport,
    ServiceCode,
    SupportLimit,
)
from community_supports.selectors import support_for_pair
from community_supports.services import CATALOG_FILE, catalog_load
from tests import factories
from tests.api_auth import authenticate_api_client

pytestmark = pytest.mark.django_db

API_QUERIES = 3


def test_fresh_database_has_the_fifteen_supports_after_migrate():
    assert CommunitySupport.objects.count() == 15
    tr = CommunitySupport.objects.get(code="transitional-rent")
    assert tr.mandatory_from == date(2026, 1, 1)
    assert CommunitySupport.objects.get(
        code="sobering-centers"
    ).retro_authorization_allowed


def test_every_limit_in_the_file_has_a_known_kind():
    data = json.loads(CATALOG_FILE.read_text())
    kinds = {limit["kind"] for s in data["supports"] for limit in s["limits"]}
    assert kinds <= KINDS


@pytest.mark.parametrize(
    ("hcpcs", "modifier", "on", "support"),
    [
        ("H0043", "U6", date(2026, 3, 1), "housing-transition-navigation"),
        ("H0043", "U3", date(2026, 3, 1), "short-term-post-hospitalization-housing"),
        ("H0043", "U2", date(2026, 3, 1), "transitional-rent"),
        ("H0044", "U2", date(2026, 3, 1), "housing-deposits"),
        ("H0044", "U5", date(2026, 3, 1), "community-transition"),
        ("H0044", "U6", date(2026, 3, 1), "transitional-rent"),
        ("S5165", "U6", date(2026, 3, 1), "environmental-accessibility-adaptations"),
        ("S5165", "U5", date(2026, 3, 1), "asthma-remediation"),
        ("T2038", "U4", date(2026, 3, 1), "assisted-living-transitions"),
        ("T2038", "U5", date(2026, 3, 1), "community-transition"),
        ("S9977", "U9", date(2026, 3, 1), "medically-tailored-meals"),
        ("t1016", "u8", date(2026, 3, 1), "housing-transition-navigation"),
    ],
)
def test_a_service_is_the_pair_never_the_code_alone(hcpcs, modifier, on, support):
    assert support_for_pair(hcpcs=hcpcs, modifier=modifier, on=on).support.code == (
        support
    )


def test_january_2026_codes_are_not_in_effect_before():
    assert support_for_pair(hcpcs="H0044", modifier="U5", on=date(2025, 12, 31)) is None
    assert support_for_pair(hcpcs="S9452", modifier="U5", on=date(2026, 1, 1))
    assert support_for_pair(hcpcs="H0044", modifier="U9", on=date(2026, 3, 1)) is None


def test_same_pair_on_overlapping_dates_is_refused():
    deposits = CommunitySupport.objects.get(code="housing-deposits")
    clash = ServiceCode(
        support=deposits,
        hcpcs="S5165",
        modifier="U6",  # EAA's pair
        unit="service",
        effective_from=date(2026, 6, 1),
    )
    with pytest.raises(ValidationError, match="already in use"):
        clash.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    # The same pair after the old one ends is fine.
    ServiceCode.objects.filter(hcpcs="S5165", modifier="U6").update(
        effective_to=date(2026, 5, 31)
    )
    clash.full_clean()


def test_loader_is_idempotent():
    counts = (
        CommunitySupport.objects.count(),
        ServiceCode.objects.count(),
        SupportLimit.objects.count(),
    )
    report = catalog_load()
    assert report.created == {}
    assert report.updated == {}
    assert counts == (15, 46, 11)
    assert (
        CommunitySupport.objects.count(),
        ServiceCode.objects.count(),
        SupportLimit.objects.count(),
    ) == counts


def _edited_file(tmp_path, change):
    data = json.loads(CATALOG_FILE.read_text())
    change(data)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    return path


def _support(data, code):
    return next(s for s in data["supports"] if s["code"] == code)


def test_loader_adds_new_codes_and_updates_unedited_rows(tmp_path):
    def change(data):
        respite = _support(data, "respite-services")
        respite["codes"].append(
            {"hcpcs": "T1005", "modifier": "U6", "unit": "15min",
             "effective_from": "2026-07-01", "description": "Respite, 15 min"}
        )  # fmt: skip
        respite["limits"][0]["quantity"] = "400"

    report = catalog_load(path=_edited_file(tmp_path, change))
    assert report.created == {"ServiceCode": 1}
    assert report.updated == {"SupportLimit": 1}
    assert SupportLimit.objects.get(support__code="respite-services").quantity == 400


def test_loader_never_overwrites_an_admin_edit(tmp_path):
    limit = SupportLimit.objects.get(
        support__code="environmental-accessibility-adaptations"
    )
    limit.quantity = Decimal("8000")
    limit.edited_by_admin = True
    limit.save()
    eaa = CommunitySupport.objects.get(code="environmental-accessibility-adaptations")
    # Changed by other means (a shell): the stored hash no longer matches.
    CommunitySupport.objects.filter(pk=eaa.pk).update(description="Local wording")

    def change(data):
        eaa = _support(data, "environmental-accessibility-adaptations")
        eaa["limits"][0]["quantity"] = "9000"
        eaa["description"] = "New upstream wording"

    report = catalog_load(path=_edited_file(tmp_path, change))
    assert report.updated == {}
    assert len(report.kept) == 2
    limit.refresh_from_db()
    eaa.refresh_from_db()
    assert limit.quantity == Decimal("8000")
    assert eaa.description == "Local wording"


def test_loader_refuses_a_bad_file_and_writes_nothing(tmp_path):
    def change(data):
        _support(data, "housing-deposits")["codes"].append(
            {"hcpcs": "BAD", "modifier": "U2", "unit": "service",
             "effective_from": "2026-01-01"}
        )  # fmt: skip
        data["supports"].append(
            {"code": "new-support", "name": "A new support", "volume": 1}
        )

    path = _edited_file(tmp_path, change)
    before = CommunitySupport.objects.count(), ServiceCode.objects.count()
    with pytest.raises(ValidationError):
        catalog_load(path=path)
    assert (CommunitySupport.objects.count(), ServiceCode.objects.count()) == before


def test_command_reports_what_it_did(capsys):
    call_command("load_cs_catalog")
    assert "created: none; updated: none" in capsys.readouterr().out


def test_admin_edit_is_recorded_field_by_field_and_marks_the_row(client):
    admin_user = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    limit = SupportLimit.objects.get(support__code="respite-services")
    url = reverse("admin:community_supports_supportlimit_change", args=[limit.pk])
    response = client.post(
        url,
        {
            "support": limit.support_id,
            "key": limit.key,
            "kind": limit.kind,
            "quantity": "360",
            "window_days": "",
            "weeks": "",
            "exception_allowed_once": "on",
            "description": limit.description,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    limit.refresh_from_db()
    assert limit.quantity == 360
    assert limit.edited_by_admin
    (change,) = CatalogChange.objects.filter(model="SupportLimit")
    assert (change.field, change.old_value, change.new_value) == (
        "quantity",
        "336",
        "360",
    )
    assert change.changed_by == admin_user
    history = client.get(
        reverse("admin:community_supports_supportlimit_history", args=[limit.pk])
    )
    assert b"quantity" in history.content
    assert catalog_load().updated == {}
    limit.refresh_from_db()
    assert limit.quantity == 360


def test_catalog_api_lists_supports_with_codes_and_limits(
    client, cast, django_assert_num_queries
):
    api = authenticate_api_client(client, cast.provider_api)
    url = reverse("api_community_supports")
    api.get(url)  # warm the token and throttle caches
    with django_assert_num_queries(API_QUERIES + 1):  # + the token (user joined)
        response = api.get(url)
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 15
    deposits = next(s for s in body["results"] if s["code"] == "housing-deposits")
    assert deposits["codes"] == [
        {
            "hcpcs": "H0044",
            "modifier": "U2",
            "modifier_2": "",
            "description": "Housing deposits, per service",
            "unit": "service",
            "effective_from": "2022-01-01",
            "effective_to": None,
        }
    ]
    assert deposits["limits"][0]["kind"] == "once_per_lifetime"
    assert deposits["limits"][0]["exception_allowed_once"] is True


def test_catalog_api_query_count_does_not_grow_with_codes(
    client, cast, django_assert_max_num_queries
):
    api = authenticate_api_client(client, cast.provider_api)
    url = reverse("api_community_supports")
    api.get(url)
    meals = CommunitySupport.objects.get(code="medically-tailored-meals")
    for n in range(20):
        ServiceCode.objects.create(
            support=meals, hcpcs=f"Z{n:04d}", modifier="U6", unit="meal",
            effective_from=date(2026, 1, 1),
        )  # fmt: skip
    with django_assert_max_num_queries(API_QUERIES + 1):
        assert api.get(url).status_code == 200


def test_catalog_api_updated_since_and_bad_value(client, cast):
    api = authenticate_api_client(client, cast.provider_api)
    url = reverse("api_community_supports")
    assert (
        api.get(url, {"updated_since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    )
    bad = api.get(url, {"updated_since": "yesterday"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "updated_since"


def test_loader_keeps_a_row_it_did_not_write(tmp_path):
    # An administrator added the pair before the file did.
    meals = CommunitySupport.objects.get(code="medically-tailored-meals")
    ServiceCode.objects.create(
        support=meals, hcpcs="S5171", modifier="U6", unit="meal",
        effective_from=date(2026, 7, 1), description="Local description",
    )  # fmt: skip

    def change(data):
        _support(data, "medically-tailored-meals")["codes"].append(
            {"hcpcs": "S5171", "modifier": "U6", "unit": "day",
             "effective_from": "2026-07-01", "description": "Upstream"}
        )  # fmt: skip

    report = catalog_load(path=_edited_file(tmp_path, change))
    assert report.created == {}
    assert len(report.kept) == 1
    code = ServiceCode.objects.get(hcpcs="S5171")
    assert (code.unit, code.description) == ("meal", "Local description")
