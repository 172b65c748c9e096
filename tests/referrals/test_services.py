"""The referral services: the flow of DESIGN.md §4.4 and every bad input."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.utils import DatabaseError
from django.http import Http404
from django.utils import timezone

from calaim.errors import ConflictError
from calaim.work.models import Task
from referrals import services
from referrals.models import Delivery, Offer, Referral, ReferralEvent, ReferralNotice
from tests.referrals.support import world

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def _code(error: ValidationError, field: str) -> str:
    return error.error_dict[field][0].code


def _approve(w, referral, **overrides):
    data = {
        "decision": "approved",
        "authorization_number": "AUTH-1",
        "approved_units": Decimal("1"),
        "approved_amount": Decimal("2000"),
        "approved_from": TODAY(),
        "approved_through": TODAY() + timedelta(days=90),
    }
    data.update(overrides)
    return services.referral_authorize(referral=referral, actor=w.plan_admin, **data)


def _create(w, **overrides):
    data = {"member": w.member, "support": w.support, "actor": w.care_manager}
    data.update(overrides)
    return services.referral_create(**data)


def _counts():
    return (
        Referral.objects.count(),
        ReferralEvent.objects.count(),
        Offer.objects.count(),
        Delivery.objects.count(),
        Task.objects.count(),
    )


# --- The flow ----------------------------------------------------------------------


def test_referral_waits_for_the_plan_with_a_five_business_day_clock():
    w = world()
    referral = _create(w)
    assert referral.status == "draft"
    assert referral.authorization_status == "requested"
    task = Task.objects.get(kind=services.AUTHORIZATION_TASK, status="open")
    assert task.organization_id == w.plan.pk
    assert task.due_at == referral.authorization_due_at


def test_expedited_authorization_is_due_in_72_hours():
    w = world()
    referral = _create(w, urgency="expedited")
    delta = referral.authorization_due_at - referral.authorization_requested_at
    assert delta == timedelta(hours=72)


def test_approval_offers_to_the_first_provider_and_sends_notices():
    w = world()
    referral = _approve(w, _create(w))
    assert referral.status == "received"
    assert referral.receiving_organization_id == w.providers[0].pk
    assert Offer.objects.get(referral=referral).status == "offered"
    kinds = set(ReferralNotice.objects.values_list("kind", flat=True))
    assert kinds == {"member_decision", "referrer_decision"}
    assert not Task.objects.filter(kind=services.AUTHORIZATION_TASK, status="open")
    ack = Task.objects.get(kind=services.ACKNOWLEDGEMENT_TASK, status="open")
    assert ack.organization_id == w.providers[0].pk


def test_rejection_reoffers_to_the_next_provider_and_keeps_the_referral_open():
    w = world()
    referral = _approve(w, _create(w))
    first = Offer.objects.get(referral=referral)
    services.offer_reject(
        offer=first, reason="No capacity this month", actor=w.staff[0]
    )
    referral.refresh_from_db()
    assert referral.status == "received"
    assert referral.closed_at is None
    assert referral.receiving_organization_id == w.providers[1].pk
    offers = list(Offer.objects.filter(referral=referral).order_by("id"))
    assert [o.status for o in offers] == ["rejected", "offered"]
    assert offers[0].reason == "No capacity this month"


def test_the_referral_is_rejected_only_when_no_provider_is_left():
    w = world(providers=1)
    referral = _approve(w, _create(w))
    offer = Offer.objects.get(referral=referral)
    services.offer_reject(offer=offer, reason="Not a fit", actor=w.staff[0])
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert referral.closed_at is not None
    assert "No contracted provider" in referral.closure_reason


def test_full_loop_closes_with_services_received():
    w = world()
    referral = _approve(w, _create(w))
    offer = Offer.objects.get(referral=referral)
    services.offer_accept(offer=offer, actor=w.staff[0])
    services.delivery_record(
        referral=referral, delivered_on=TODAY(), units=1, amount=1500,
        hcpcs="Z9044", modifier="U2", actor=w.staff[0],
    )  # fmt: skip
    referral.refresh_from_db()
    assert referral.status == "in_progress"
    services.referral_complete(referral=referral, actor=w.staff[0])
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert referral.closure_reason == "Services Received"
    actions = list(referral.events.values_list("action", flat=True))
    assert actions == [
        "create", "request_authorization", "request", "offer", "accept", "start",
        "complete",
    ]  # fmt: skip
    assert not Task.objects.filter(status="open", member_id=w.member.pk).exclude(
        kind__startswith="ecm"
    )


def test_sobering_center_goes_straight_to_a_provider_and_is_authorized_after():
    w = world(retro=True, code="test-sobering")
    referral = _create(w)
    assert referral.status == "received"
    assert referral.authorization_status == ""
    offer = Offer.objects.get(referral=referral)
    services.offer_accept(offer=offer, actor=w.staff[0])
    referral = _approve(w, referral)
    assert referral.authorization_status == "approved"
    assert referral.status == "accepted"


def test_denial_rejects_with_reason_and_notices():
    w = world()
    referral = services.referral_authorize(
        referral=_create(w), decision="denied", reason="Does not meet criteria",
        actor=w.plan_admin,
    )  # fmt: skip
    assert referral.status == "rejected"
    assert (
        ReferralNotice.objects.filter(referral=referral, decision="denied").count() == 2
    )


def test_pending_pauses_the_clock_and_resume_restarts_it_with_the_time_left():
    w = world()
    referral = _create(w)
    referral = services.referral_authorize(
        referral=referral,
        decision="pended",
        reason="Need the lease",
        actor=w.plan_admin,
    )
    assert referral.authorization_status == "pended"
    assert referral.authorization_time_left > timedelta(0)
    assert not Task.objects.filter(kind=services.AUTHORIZATION_TASK, status="open")
    left = referral.authorization_time_left
    referral = services.referral_authorization_resume(
        referral=referral, actor=w.plan_admin
    )
    task = Task.objects.get(kind=services.AUTHORIZATION_TASK, status="open")
    assert abs((task.due_at - timezone.now()) - left) < timedelta(seconds=5)


def test_hold_pauses_the_delivery_clock_and_resume_restarts_it():
    w = world()
    referral = _approve(w, _create(w))
    offer = Offer.objects.get(referral=referral)
    services.offer_accept(offer=offer, actor=w.staff[0])
    referral.refresh_from_db()
    referral = services.referral_hold(referral=referral, reason="Member in hospital",
                                      actor=w.staff[0])  # fmt: skip
    assert referral.status == "on_hold"
    assert not Task.objects.filter(kind=services.DELIVERY_TASK, status="open")
    referral = services.referral_resume(referral=referral, actor=w.staff[0])
    assert referral.status == "in_progress"
    assert Task.objects.filter(kind=services.DELIVERY_TASK, status="open").count() == 1


def test_cancel_withdraws_the_live_offer():
    w = world()
    referral = _approve(w, _create(w))
    services.referral_cancel(
        referral=referral, reason="Member moved", actor=w.care_manager
    )
    assert Offer.objects.get(referral=referral).status == "withdrawn"
    assert not Task.objects.filter(status="open", kind__startswith="referrals.")


def test_events_are_immutable():
    w = world()
    referral = _create(w)
    event = referral.events.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralEvent.objects.filter(pk=event.pk).update(reason="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralEvent.objects.filter(pk=event.pk).delete()


# --- Bad input: a specific error, nothing written ----------------------------------


def test_support_not_offered_in_the_county_is_refused():
    w = world()
    from community_supports.models import PlanOffering

    PlanOffering.objects.all().delete()
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _create(w)
    assert _code(refused.value, "support") == "not_offered"
    assert _counts() == before


def test_support_without_a_contracted_provider_is_refused():
    w = world(providers=0)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _create(w)
    assert _code(refused.value, "support") == "no_contract"
    assert _counts() == before


def test_rejection_without_a_reason_is_refused():
    w = world()
    referral = _approve(w, _create(w))
    offer = Offer.objects.get(referral=referral)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        services.offer_reject(offer=offer, reason=" ", actor=w.staff[0])
    assert _code(refused.value, "reason") == "reason_required"
    assert _counts() == before
    assert Offer.objects.get(pk=offer.pk).status == "offered"


def test_illegal_transition_is_refused():
    w = world()
    referral = _approve(w, _create(w))
    with pytest.raises(ValidationError) as refused:
        services.referral_complete(referral=referral, actor=w.staff[0])
    assert _code(refused.value, "status") == "illegal_transition"


def _accepted(w):
    referral = _approve(w, _create(w), approved_units=Decimal("2"))
    services.offer_accept(offer=Offer.objects.get(referral=referral), actor=w.staff[0])
    referral.refresh_from_db()
    return referral


def _deliver(w, referral, **overrides):
    data = {
        "referral": referral, "delivered_on": TODAY(), "units": 1, "amount": 100,
        "hcpcs": "Z9044", "modifier": "U2", "actor": w.staff[0],
    }  # fmt: skip
    data.update(overrides)
    return services.delivery_record(**data)


def test_units_beyond_the_authorization_are_refused():
    w = world()
    referral = _accepted(w)
    _deliver(w, referral, units=2)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _deliver(w, referral, units="0.5")
    assert _code(refused.value, "units") == "units_exceed_authorization"
    assert _counts() == before


def test_a_delivery_after_completion_is_refused():
    w = world()
    referral = _accepted(w)
    _deliver(w, referral)
    services.referral_complete(referral=referral, actor=w.staff[0])
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _deliver(w, referral)
    assert _code(refused.value, "referral") == "delivery_after_completion"
    assert _counts() == before


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"hcpcs": "Z9044", "modifier": "U5"}, "hcpcs", "unknown_service_code"),
        ({"hcpcs": "S5165", "modifier": "U2"}, "hcpcs", "unknown_service_code"),
        ({"units": 0}, "units", "invalid"),
        ({"amount": -1}, "amount", "invalid"),
        ({"delivered_on": TODAY() + timedelta(days=3)}, "delivered_on", "future"),
        ({"delivered_on": date(2020, 1, 1)}, "hcpcs", "unknown_service_code"),
    ],
)
def test_bad_deliveries_are_refused(overrides, field, code):
    w = world()
    referral = _accepted(w)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _deliver(w, referral, **overrides)
    assert _code(refused.value, field) == code
    assert _counts() == before


def test_other_provider_cannot_accept():
    w = world()
    referral = _approve(w, _create(w))
    offer = Offer.objects.get(referral=referral)
    with pytest.raises((PermissionDenied, Http404)):
        services.offer_accept(offer=offer, actor=w.staff[1])
    assert Offer.objects.get(pk=offer.pk).status == "offered"


def test_a_care_manager_cannot_authorize():
    w = world()
    referral = _create(w)
    with pytest.raises(PermissionDenied):
        _approve(w, referral, decision="approved") if False else (
            services.referral_authorize(referral=referral, decision="approved",
                                        actor=w.care_manager)
        )  # fmt: skip


def test_modified_needs_a_reason_and_approval_needs_a_number():
    w = world()
    referral = _create(w)
    with pytest.raises(ValidationError) as refused:
        _approve(w, referral, decision="modified", authorization_number="")
    assert set(refused.value.error_dict) == {"authorization_number", "reason"}


def test_a_goal_that_is_not_on_the_care_plan_is_refused():
    import uuid

    w = world()
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _create(w, goal_uid=uuid.uuid4())
    assert _code(refused.value, "goal_uid") == "unknown_goal"
    assert _counts() == before


def test_a_stale_version_is_409():
    w = world()
    referral = _accepted(w)
    with pytest.raises(ConflictError) as conflict:
        services.referral_hold(referral=referral, reason="Waiting", actor=w.staff[0],
                               expected_version=referral.version - 1)  # fmt: skip
    assert conflict.value.code == "stale_version"


# --- Limits ------------------------------------------------------------------------


def test_second_housing_deposit_needs_the_one_exception_then_is_refused():
    limits = [("once", "once_per_lifetime", "1", True)]
    w = world(limits=limits, capacity=None)
    first = _approve(w, _create(w))
    assert first.authorization_status == "approved"
    second = _create(w)
    with pytest.raises(ValidationError) as refused:
        _approve(w, second)
    assert _code(refused.value, "limit_exception_reason") == "limit_exceeded"
    assert "1" in refused.value.error_dict["limit_exception_reason"][0].message
    second.refresh_from_db()
    assert second.authorization_status == "requested"
    second = _approve(
        w, second, limit_exception_reason="Changed conditions: fire destroyed home"
    )
    assert second.limit_exception_reason.startswith("Changed")
    third = _create(w)
    with pytest.raises(ValidationError) as refused:
        _approve(w, third, limit_exception_reason="Another change of conditions")
    assert _code(refused.value, "limit_exception_reason") == "exception_used"


def test_findings_show_the_numbers():
    limits = [("cap", "dollars_per_lifetime", "7500", False)]
    w = world(limits=limits)
    referral = _create(w, requested_amount=Decimal("8000"))
    (finding,) = services.limit_findings(referral, amount=Decimal("8000"))
    assert finding.exceeded
    assert finding.allowed_max == Decimal("7500")
    assert finding.requested == Decimal("8000")


# --- Clocks ------------------------------------------------------------------------


def test_the_sweep_expires_an_unacknowledged_offer_and_offers_the_next():
    w = world()
    referral = _approve(w, _create(w))
    Task.objects.filter(kind=services.ACKNOWLEDGEMENT_TASK).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.clocks_sweep()["expired_offers"] == 1
    referral.refresh_from_db()
    assert referral.receiving_organization_id == w.providers[1].pk
    assert [o.status for o in referral.offers.order_by("id")] == ["expired", "offered"]
    assert services.clocks_sweep()["expired_offers"] == 0


def test_acknowledgement_is_due_two_business_days_after_the_offer():
    from calaim.work.calendar import PACIFIC, add_business_days

    w = world()
    referral = _approve(w, _create(w))
    offer = Offer.objects.get(referral=referral)
    expected = add_business_days(offer.offered_at, 2)
    assert offer.acknowledge_by.astimezone(PACIFIC).date() == expected
