"""Celery tasks of referrals: thin, ids in, call a service."""

from celery import shared_task


@shared_task(name="referrals.sweep_clocks", acks_late=True, time_limit=300)
def sweep_clocks():
    """Beat: act on breached referral clocks (bounded, safe to overlap)."""
    from referrals.services import clocks_sweep

    return clocks_sweep()
