"""Two staff accepting the same offer at once: one wins, the other gets 409."""

import threading

import pytest
from django.db import connection

from calaim.accounts import roles
from calaim.errors import ConflictError
from referrals import services
from referrals.models import Offer, ReferralEvent
from tests import factories as f
from tests.referrals.support import world


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_staff_accept_at_once_one_wins_one_gets_409():
    w = world()
    referral = services.referral_create(
        member=w.member, support=w.support, actor=w.care_manager
    )
    from datetime import timedelta

    from django.utils import timezone

    services.referral_authorize(
        referral=referral, decision="approved", authorization_number="A-1",
        approved_from=timezone.localdate(),
        approved_through=timezone.localdate() + timedelta(days=30),
        actor=w.plan_admin,
    )  # fmt: skip
    offer = Offer.objects.get(referral=referral, status="offered")
    second = f.UserFactory(organization=w.providers[0], roles=[roles.CS_PROVIDER])
    barrier = threading.Barrier(2)
    results = {}

    def accept(name, user):
        try:
            barrier.wait(timeout=10)
            services.offer_accept(offer=Offer.objects.get(pk=offer.pk), actor=user)
            results[name] = "ok"
        except ConflictError as conflict:
            results[name] = conflict.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=accept, args=("a", w.staff[0])),
        threading.Thread(target=accept, args=("b", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["offer_already_answered", "ok"]
    assert Offer.objects.get(pk=offer.pk).status == "accepted"
    assert ReferralEvent.objects.filter(referral=referral, action="accept").count() == 1
