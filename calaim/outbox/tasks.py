"""Celery tasks of the outbox: ids in, a service call, nothing else."""

from celery import shared_task

from calaim.mail import shared_mail_connection
from calaim.outbox import services


@shared_task(name="outbox.deliver")
def deliver(message_id: int) -> str:
    """Carry out one outbox message (a no-op if it is done or someone has it)."""
    return services.outbox_deliver(message_id=message_id)


@shared_task(name="outbox.deliver_many")
def deliver_many(message_ids: list[int]) -> int:
    """Carry out several outbox messages handed on together (`outbox_batch`), one
    after the other, their e-mails over one connection to the relay; return how
    many this call delivered."""
    with shared_mail_connection():
        return sum(
            services.outbox_deliver(message_id=message_id) == "delivered"
            for message_id in message_ids
        )


@shared_task(name="outbox.sweep", max_retries=0)
def sweep() -> int:
    """Resend what the broker lost or never got (beat, every OUTBOX_SWEEP_SECONDS).

    Not retried: the next sweep is only seconds away.
    """
    return services.outbox_sweep()
