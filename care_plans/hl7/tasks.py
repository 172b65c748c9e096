"""Celery tasks of the HL7 intake: ids in, a service call, nothing else."""

from celery import shared_task

from care_plans.hl7 import services


@shared_task(name="hl7.process_message")
def process_message(message_id: int) -> str:
    """Process one stored message (a no-op if it is done or someone has it)."""
    return services.message_process(message_id=message_id)


@shared_task(name="hl7.process_messages")
def process_messages(message_ids: list[int]) -> int:
    """Process several stored messages (the MLLP listener hands them on in groups,
    one broker message per group instead of one per message) in one transaction;
    each is claimed with SKIP LOCKED, so a repeat or an overlap with the sweep is
    harmless."""
    outcomes = services.messages_process(message_ids=message_ids)
    return sum(1 for outcome in outcomes.values() if outcome != "skipped")


@shared_task(name="hl7.sweep", max_retries=0)
def sweep() -> int:
    """Process the pending messages whose task was lost or whose worker died
    (beat, every HL7_SWEEP_SECONDS). Not retried: the next sweep is seconds away.
    """
    return services.message_sweep()
