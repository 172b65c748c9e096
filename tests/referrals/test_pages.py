"""The referral pages over HTTP: the care manager refers from the chart, the
plan decides, the provider works its inbox; lists pin their query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from referrals import services
from referrals.models import Offer, Referral
from tests.referrals.support import PAIR, world

pytestmark = pytest.mark.django_db


def _approve(w, referral):
    today = timezone.localdate()
    return services.referral_authorize(
        referral=referral, decision="approved", authorization_number="P-1",
        approved_units=2, approved_from=today,
        approved_through=today + timedelta(days=30), actor=w.plan_admin,
    )  # fmt: skip


def _referrals(w, n, approve=True):
    made = []
    for _ in range(n):
        referral = services.referral_create(
            member=w.member, support=w.support, actor=w.care_manager
        )
        made.append(_approve(w, referral) if approve else referral)
    return made


def test_care_manager_refers_from_the_chart(client):
    w = world()
    client.force_login(w.care_manager)
    chart = client.get(reverse("member_chart", args=[w.member.uuid]))
    assert reverse("referral_new", args=[w.member.uuid]) in chart.content.decode()
    page = client.get(
        reverse("referral_new", args=[w.member.uuid]) + f"?support={w.support.pk}"
    )
    assert page.status_code == 200
    assert w.providers[0].name in page.content.decode()
    response = client.post(
        reverse("referral_new", args=[w.member.uuid]),
        {"support": w.support.pk, "urgency": "standard",
         "preferred_provider": str(w.providers[1].uuid)},
    )  # fmt: skip
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert referral.preferred_provider_id == w.providers[1].pk
    _approve(w, referral)
    referral.refresh_from_db()
    # The preferred provider got the first offer.
    assert referral.receiving_organization_id == w.providers[1].pk


def test_refer_form_errors_write_nothing(client):
    w = world()
    client.force_login(w.care_manager)
    response = client.post(
        reverse("referral_new", args=[w.member.uuid]),
        {"support": w.support.pk, "urgency": "standard", "requested_units": "-1"},
    )
    assert response.status_code == 400
    assert not Referral.objects.exists()


def test_plan_decides_with_limits_shown(client):
    w = world(limits=[("once", "once_per_lifetime", "1", True)], capacity=None)
    _referrals(w, 1)
    second = _referrals(w, 1, approve=False)[0]
    client.force_login(w.plan_admin)
    page = client.get(reverse("referral_detail", args=[second.uuid]))
    assert "1 of 1 used" in page.content.decode() or "limit-findings" in (
        page.content.decode()
    )
    today = timezone.localdate()
    refused = client.post(
        reverse("referral_authorize", args=[second.uuid]),
        {"decision": "approved", "authorization_number": "X",
         "approved_from": today.isoformat(),
         "approved_through": (today + timedelta(days=5)).isoformat(),
         "expected_version": second.version},
    )  # fmt: skip
    assert refused.status_code == 400
    assert "exception" in refused.content.decode()
    second.refresh_from_db()
    assert second.authorization_status == "requested"


def test_provider_accepts_delivers_and_completes_in_the_browser_forms(client):
    w = world()
    (referral,) = _referrals(w, 1)
    client.force_login(w.staff[0])
    inbox = client.get(reverse("referral_inbox"))
    assert str(referral.uuid) in inbox.content.decode()
    assert (
        client.post(reverse("referral_accept", args=[referral.uuid])).status_code == 302
    )
    delivered = client.post(
        reverse("referral_deliver", args=[referral.uuid]),
        {"delivered_on": timezone.localdate().isoformat(),
         "code": f"{PAIR[0]}-{PAIR[1]}", "units": "1", "amount": "20"},
    )  # fmt: skip
    assert delivered.status_code == 302
    done = client.post(reverse("referral_complete", args=[referral.uuid]))
    assert done.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "completed"


def test_second_accept_from_a_stale_page_is_409(client):
    w = world()
    (referral,) = _referrals(w, 1)
    services.offer_accept(offer=Offer.objects.get(referral=referral), actor=w.staff[0])
    client.force_login(w.staff[0])
    response = client.post(reverse("referral_accept", args=[referral.uuid]))
    assert response.status_code == 409


@pytest.mark.parametrize("volume", [1, 5])
def test_inbox_query_count_is_independent_of_volume(
    client, django_assert_num_queries, volume
):
    w = world(capacity=None)
    _referrals(w, volume)
    client.force_login(w.staff[0])
    # The page's shell (session, user with roles, permissions and organization,
    # badge) and the rows and the audit entry: the same for 1 row and for 5.
    with django_assert_num_queries(7):
        response = client.get(reverse("referral_inbox"))
    assert response.content.decode().count("data-referral=") == volume


@pytest.mark.parametrize("volume", [1, 5])
def test_plan_queues_query_counts_are_independent_of_volume(
    client, django_assert_num_queries, volume
):
    w = world(capacity=None)
    _referrals(w, volume, approve=False)
    client.force_login(w.plan_admin)
    with django_assert_num_queries(7):
        queue = client.get(reverse("referral_authorization_queue"))
    assert queue.content.decode().count("data-referral=") == volume
    with django_assert_num_queries(5):
        loops = client.get(reverse("referral_open_loops"))
    assert loops.content.decode().count("data-referral=") == volume


@pytest.mark.parametrize("volume", [1, 5])
def test_chart_panel_is_one_query(rf, django_assert_num_queries, volume):
    from calaim import access as registry
    from referrals.views import referrals_panel

    w = world(capacity=None)
    _referrals(w, volume)
    request = rf.get("/")
    request.user = w.care_manager
    request.chart_scope = registry.CHART
    w.care_manager.has_perm("referrals.add_referral")  # warm the permission cache
    with django_assert_num_queries(1):
        context = referrals_panel(request, w.member)
    assert len(context["referrals"]) == volume


def test_directory_shows_capacity_left(client):
    w = world(capacity=2)
    _referrals(w, 1)
    client.force_login(w.care_manager)
    page = client.get(
        reverse("referral_directory")
        + f"?member={w.member.uuid}&support={w.support.code}"
    )
    assert page.status_code == 200
    rows = {row.provider_id: row for row in page.context["rows"]}
    assert rows[w.providers[0].pk].capacity_left == 1
    assert rows[w.providers[1].pk].capacity_left == 2
