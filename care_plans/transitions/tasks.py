"""Celery tasks of transitions of care: thin, no arguments, call a service."""

from celery import shared_task

from care_plans.transitions.services import alerts_escalate


@shared_task(name="transitions.escalate_alerts")
def escalate_alerts() -> int:
    """Beat: escalate alerts unacknowledged for 24 hours (bounded, overlap-safe)."""
    return alerts_escalate()
