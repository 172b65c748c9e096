"""Signed action links for providers without an account: accept, reject with a
reason, complete; each usable once, feeding the same services, audited."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from calaim.audit.models import AuditEvent
from calaim.links.models import ActionLink
from calaim.links.services import link_url
from referrals import services
from referrals.models import Offer, ProviderIntake
from tests.referrals.support import world

pytestmark = pytest.mark.django_db


def _offered(w):
    ProviderIntake.objects.create(organization=w.providers[0], email="intake@a.example")
    referral = services.referral_create(
        member=w.member, support=w.support, actor=w.care_manager
    )
    today = timezone.localdate()
    services.referral_authorize(
        referral=referral, decision="approved", authorization_number="L-1",
        approved_from=today, approved_through=today + timedelta(days=30),
        actor=w.plan_admin,
    )  # fmt: skip
    referral.refresh_from_db()
    return referral, Offer.objects.get(referral=referral)


def _url(offer, action):
    link = ActionLink.objects.get(
        action=f"referral.{action}", object_id=str(offer.uuid)
    )
    return link_url(link)


def test_an_offer_to_a_provider_with_an_intake_address_sends_accept_and_reject_links(
    django_capture_on_commit_callbacks,
):
    w = world()
    with django_capture_on_commit_callbacks(execute=False):
        referral, offer = _offered(w)
    actions = set(
        ActionLink.objects.filter(object_id=str(offer.uuid)).values_list(
            "action", flat=True
        )
    )
    assert actions == {"referral.accept", "referral.reject"}
    assert all(
        link.recipient_email == "intake@a.example" for link in ActionLink.objects.all()
    )


def test_accept_by_link_once_then_410(client):
    w = world()
    referral, offer = _offered(w)
    url = _url(offer, "accept")
    page = client.get(url)
    assert page.status_code == 200
    offer.refresh_from_db()
    assert offer.status == "offered"  # GET never acts
    done = client.post(url)
    assert done.status_code == 200
    referral.refresh_from_db()
    assert referral.status == "accepted"
    again = client.post(url)
    assert again.status_code == 410
    assert AuditEvent.objects.filter(object_type="action_link").exists()
    # Accepting sends the completion link.
    assert ActionLink.objects.filter(action="referral.complete").count() == 1


def test_reject_by_link_needs_a_reason_and_reoffers(client):
    w = world()
    referral, offer = _offered(w)
    url = _url(offer, "reject")
    assert client.post(url, {"reason": ""}).status_code == 400
    offer.refresh_from_db()
    assert offer.status == "offered"
    assert client.post(url, {"reason": "No capacity"}).status_code == 200
    referral.refresh_from_db()
    assert referral.receiving_organization_id == w.providers[1].pk
    assert referral.status == "received"


def test_an_accept_link_after_the_offer_was_answered_is_refused_and_writes_nothing(
    client,
):
    w = world()
    referral, offer = _offered(w)
    accept_url = _url(offer, "accept")
    services.offer_reject(offer=offer, reason="Declined by phone", actor=w.staff[0])
    response = client.post(accept_url)
    assert response.status_code == 409
    offer.refresh_from_db()
    assert offer.status == "rejected"
    assert ActionLink.objects.get(action="referral.accept").used_at is None


def test_complete_by_link_closes_the_loop(client):
    w = world()
    referral, offer = _offered(w)
    client.post(_url(offer, "accept"))
    assert client.post(_url(offer, "complete")).status_code == 200
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert referral.closure_reason == "Services Received"


def test_expired_link_is_410(client):
    w = world()
    referral, offer = _offered(w)
    ActionLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(_url(offer, "accept")).status_code == 410
    offer.refresh_from_db()
    assert offer.status == "offered"
    assert mail.outbox == [] or all("Casey" not in m.body for m in mail.outbox)
