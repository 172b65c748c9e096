"""The Celery app: a Redis broker, JSON only, at-least-once delivery.

Configuration lives in settings (the ``CELERY_*`` block) so one module says how the
whole deployment behaves. Tasks are thin: ids in, a service call, nothing else.
Every task gets `PlatformTask` as its base, so transient failures (the database or
the broker briefly away) are retried with backoff while bugs fail at once.

    celery -A calaim worker     # runs tasks
    celery -A calaim beat       # sends the periodic tasks of CELERY_BEAT_SCHEDULE
"""

import os

from celery import Celery, Task, signals
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db import close_old_connections
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


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_database_connections(sender=None, **kwargs) -> None:
    """Keep a worker's database connection between tasks, as Django keeps a web
    process's between requests: close it only once it is older than CONN_MAX_AGE
    or has broken (CONN_HEALTH_CHECKS), before and after each task.

    Celery's Django fixup would close it around every task (settings:
    CELERY_DB_REUSE_MAX turns that off): a new PostgreSQL backend per task cost
    more than the HL7 processing group the task carried.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # an eager task runs inside its caller's connection and transaction
    close_old_connections()
