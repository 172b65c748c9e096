"""The referral clocks' sweep (beat): breaches are acted on once.

- an offer not acknowledged in 2 business days expires and the next provider
  gets one (the referrer is told);
- an authorization decision past due escalates to the plan's administrators;
- a service start past due escalates to the provider and the referrer.

Bounded per run and safe to overlap: each breach is claimed row by row with
SELECT ... FOR UPDATE SKIP LOCKED, and every notification has a key, so a
second run changes nothing.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calaim.work.models import Task, TaskStatus
from referrals.models import Offer, Referral
from referrals.services._common import (
    ACKNOWLEDGEMENT_TASK,
    AUTHORIZATION_TASK,
    DELIVERY_TASK,
    notify_plan,
    notify_provider,
    notify_referrer,
)

BATCH = getattr(settings, "REFERRAL_CLOCK_SWEEP_BATCH", 200)


def _overdue(kind: str, limit: int) -> list[Task]:
    return list(
        Task.objects.select_for_update(skip_locked=True)
        .filter(kind=kind, status=TaskStatus.OPEN, due_at__lt=timezone.now())
        .order_by("due_at", "id")[:limit]
    )


def clocks_sweep(*, limit: int = BATCH) -> dict:
    """Act on the breached referral clocks; return how many of each."""
    from calaim.accounts.services import system_account
    from referrals.services.referrals import offer_expire

    done = {"expired_offers": 0, "authorization_breaches": 0, "delivery_breaches": 0}
    with transaction.atomic():
        tasks = _overdue(ACKNOWLEDGEMENT_TASK, limit)
        offers = Offer.objects.select_related("referral__plan").in_bulk(
            [int(task.source_id) for task in tasks]
        )
    for task in tasks:
        offer = offers.get(int(task.source_id))
        if offer is None or offer.referral.plan is None:
            continue
        actor = system_account(organization=offer.referral.plan, name="Referral clocks")
        if offer_expire(offer=offer, actor=actor) is not None:
            done["expired_offers"] += 1
    with transaction.atomic():
        for task in _overdue(AUTHORIZATION_TASK, limit):
            referral = Referral.objects.filter(pk=task.source_id).first()
            if referral is None:
                continue
            notify_plan(
                referral, event="authorization_breach",
                title="A Community Supports authorization is past due",
            )  # fmt: skip
            done["authorization_breaches"] += 1
        for task in _overdue(DELIVERY_TASK, limit):
            referral = Referral.objects.filter(pk=task.source_id).first()
            if referral is None or referral.receiving_organization_id is None:
                continue
            notify_provider(
                referral, referral.receiving_organization_id, event="delivery_breach",
                title="A referral's services have not started in time",
            )  # fmt: skip
            notify_referrer(
                referral, event="delivery_breach",
                title="A referral's services have not started in time",
            )  # fmt: skip
            done["delivery_breaches"] += 1
    return done
