"""The referrals API over HTTP with real OAuth2 tokens: each side sees only its
own, the flow with a rejection and re-offer, errors in the one shape, 409s, and
query counts independent of volume."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calaim.accounts import roles
from calaim.accounts.services import service_account_create
from referrals import services
from referrals.models import Offer, Referral
from tests.api_auth import authenticate_api_client
from tests.referrals.support import PAIR, world

pytestmark = pytest.mark.django_db
JSON = "application/json"


def _system(organization):
    return service_account_create(
        organization=organization, role_name=roles.PROVIDER_API,
        name=f"{organization.name} system",
    )  # fmt: skip


def _approve(w, referral):
    today = timezone.localdate()
    return services.referral_authorize(
        referral=referral, decision="approved", authorization_number="API-1",
        approved_units=3, approved_from=today,
        approved_through=today + timedelta(days=30), actor=w.plan_admin,
    )  # fmt: skip


def _codes(response):
    return [error["code"] for error in response.json()["errors"]]


def test_flow_through_the_api_with_a_rejection_and_reoffer(client):
    w = world()
    referrer_system = _system(w.referrer_org)
    api = authenticate_api_client(client, referrer_system)
    created = api.post(
        reverse("api_referral_list"),
        {"member_id": str(w.member.uuid), "support": w.support.code,
         "requested_units": "3"},
        content_type=JSON,
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["authorization_status"] == "requested"
    referral = Referral.objects.get(uuid=body["id"])
    _approve(w, referral)

    from django.test import Client

    first = authenticate_api_client(Client(), _system(w.providers[0]))
    url = reverse("api_referral_reject", args=[referral.uuid])
    assert _codes(first.post(url, {"reason": ""}, content_type=JSON)) == [
        "reason_required"
    ]
    rejected = first.post(url, {"reason": "Full"}, content_type=JSON)
    assert rejected.status_code == 204  # no longer theirs to see
    detail = first.get(reverse("api_referral_detail", args=[referral.uuid]))
    assert detail.status_code == 404
    referral.refresh_from_db()
    assert referral.receiving_organization_id == w.providers[1].pk

    second = authenticate_api_client(Client(), _system(w.providers[1]))
    listed = second.get(reverse("api_referral_list")).json()["results"]
    assert [row["id"] for row in listed] == [str(referral.uuid)]
    assert listed[0]["offer_status"] == "offered"
    accepted = second.post(
        reverse("api_referral_accept", args=[referral.uuid]), {}, content_type=JSON
    )
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    again = second.post(
        reverse("api_referral_accept", args=[referral.uuid]), {}, content_type=JSON
    )
    assert again.status_code == 409
    assert _codes(again) == ["offer_already_answered"]
    delivered = second.post(
        reverse("api_referral_deliveries", args=[referral.uuid]),
        {"delivered_on": timezone.localdate().isoformat(), "units": "1",
         "amount": "50", "hcpcs": PAIR[0], "modifier": PAIR[1]},
        content_type=JSON,
    )  # fmt: skip
    assert delivered.status_code == 201, delivered.content
    too_many = second.post(
        reverse("api_referral_deliveries", args=[referral.uuid]),
        {"delivered_on": timezone.localdate().isoformat(), "units": "5",
         "hcpcs": PAIR[0], "modifier": PAIR[1]},
        content_type=JSON,
    )  # fmt: skip
    assert too_many.status_code == 400
    assert _codes(too_many) == ["units_exceed_authorization"]
    stale = second.post(
        reverse("api_referral_complete", args=[referral.uuid]),
        {"version": 1},
        content_type=JSON,
    )
    assert stale.status_code == 409
    assert _codes(stale) == ["stale_version"]
    done = second.post(
        reverse("api_referral_complete", args=[referral.uuid]), {}, content_type=JSON
    )
    assert done.status_code == 200
    assert done.json()["referral_status"] == "Loop Closed"
    assert done.json()["referral_loop_closure_reason"] == "Services Received"
    late = second.post(
        reverse("api_referral_deliveries", args=[referral.uuid]),
        {"delivered_on": timezone.localdate().isoformat(), "units": "1",
         "hcpcs": PAIR[0], "modifier": PAIR[1]},
        content_type=JSON,
    )  # fmt: skip
    assert _codes(late) == ["delivery_after_completion"]

    # The referrer's system sees its referral closed, with the RTF fields.
    mine = api.get(reverse("api_referral_detail", args=[referral.uuid])).json()
    assert mine["referral_loop_closure_reason"] == "Services Received"


def test_a_support_not_offered_is_400_and_writes_nothing(client):
    w = world()
    from community_supports.models import PlanOffering

    PlanOffering.objects.filter(plan=w.plan).delete()
    api = authenticate_api_client(client, _system(w.referrer_org))
    response = api.post(
        reverse("api_referral_list"),
        {"member_id": str(w.member.uuid), "support": w.support.code},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert _codes(response) == ["not_offered"]
    assert not Referral.objects.exists()


@pytest.mark.parametrize("volume", [1, 6])
def test_list_query_count_is_independent_of_volume(
    client, django_assert_num_queries, volume
):
    w = world(capacity=None)
    for _ in range(volume):
        _approve(w, services.referral_create(
            member=w.member, support=w.support, actor=w.care_manager))  # fmt: skip
    api = authenticate_api_client(client, _system(w.providers[0]))
    # token (+ its user), permissions, the rows (access rules inlined), audit
    with django_assert_num_queries(4):
        response = api.get(reverse("api_referral_list"))
    assert len(response.json()["results"]) == volume


def test_the_other_provider_sees_nothing(client):
    w = world()
    referral = _approve(w, services.referral_create(
        member=w.member, support=w.support, actor=w.care_manager))  # fmt: skip
    api = authenticate_api_client(client, _system(w.providers[1]))
    assert api.get(reverse("api_referral_list")).json()["results"] == []
    assert (
        api.get(reverse("api_referral_detail", args=[referral.uuid])).status_code == 404
    )
    assert Offer.objects.filter(provider=w.providers[1]).count() == 0
