"""Imported by a fault test's Celery worker (`--include tests.transitions.slow_worker`).

The real ADT processor, except that the first attempt at a message whose
control id starts with "SLOW-" sleeps first: the window in which the test kills
the worker. Every later attempt runs the real processor at once.
"""

import time

from care_plans.hl7.registry import replace_processor
from care_plans.transitions.processor import process_adt

SLOW_PREFIX = "SLOW-"
SLEEP_SECONDS = 120


def slow_first_attempt(message) -> str:
    if message.control_id.startswith(SLOW_PREFIX) and message.attempts <= 1:
        time.sleep(SLEEP_SECONDS)
    return process_adt(message)


replace_processor("ADT", slow_first_attempt)
