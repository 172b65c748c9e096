"""Imported by a test's Celery worker (`--include tests.hl7.worker_processor`):
ADT messages go to the test processor instead of the registered one."""

from care_plans.hl7.registry import replace_processor
from tests.hl7.processors import record_effect

replace_processor("ADT", record_effect)
