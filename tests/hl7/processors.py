"""A processor for the delivery tests: its effect is one audit row per run.

An AuditEvent has no unique key, so a second committed run of the same message
would show as a second row: counting them proves "processed once". A message
whose raw text holds SLEEP_MARKER blocks on its first attempt, so a test can kill
the worker mid-run. `tests.hl7.worker_processor` installs it in a worker process.
"""

import time

EFFECT = "hl7_test_effect"
SLEEP_MARKER = "NTE|1||SLEEP-FIRST-ATTEMPT"
FAIL_MARKER = "NTE|1||ALWAYS-FAIL"


def record_effect(message):
    from calaim.audit.services import audit_record

    audit_record(action="create", object_type=EFFECT, object_id=str(message.pk))
    if FAIL_MARKER in message.raw:
        # An exception quoting the patient, as a careless parser's might.
        raise RuntimeError(next(s for s in message.raw.split("\r") if "PID" in s))
    if SLEEP_MARKER in message.raw and message.attempts == 1:
        time.sleep(120)
    return "processed"


def effects(message) -> int:
    from calaim.audit.models import AuditEvent

    return AuditEvent.objects.filter(
        object_type=EFFECT, object_id=str(message.pk)
    ).count()
