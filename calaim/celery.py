"""The Celery app: a Redis broker, JSON only, at-least-once delivery.

Configuration lives in settings (the ``CELERY_*`` block) so one module says how the
whole deployment behaves. Tasks are thin: ids in, a service call, nothing else.
Every task gets `PlatformTask` as its base, so transient failures (the database or
the broker briefly away) are retried with backoff while bugs fail at once.

    celery -A calaim worker     # runs tasks
    celery -A calaim beat       # sends the periodic tasks of CELERY_BEAT_SCHEDULE
"""

import os

from celery import Celery, Task
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calaim.settings")

# Errors that say "try again later", never "this is wrong". Anything else is a bug
# or bad data, and retrying it would only repeat the failure.
TRANSIENT_ERRORS = (
    DatabaseOperationalError,
    DatabaseInterfaceError,
    BrokerOperationalError,
    ConnectionError,
    TimeoutError,
)


class PlatformTask(Task):
    """Retry transient errors with exponential backoff and jitter; nothing else."""

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 120
    retry_jitter = True
    max_retries = 6


app = Celery("calaim", task_cls=PlatformTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
