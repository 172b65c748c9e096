"""Settings for the benchmark's gunicorn: the app's settings plus a bench URLconf.

bench/caseload.py starts gunicorn with DJANGO_SETTINGS_MODULE pointing here, so
the app's own URLs stay free of bench views. DEBUG comes from the environment
only so that calaim.settings accepts the bench's DATABASE_URL and REDIS_URL
without production secrets; it is turned off again here because DEBUG's query
log and template debugging would slow every request and flatter no one.

The reference view answers without authentication, so these settings refuse any
database that is not a benchmark database.
"""

from django.core.exceptions import ImproperlyConfigured

from calaim.settings import *  # noqa: F403
from calaim.settings import DATABASES

if not DATABASES["default"]["NAME"].startswith("calaim_bench"):
    raise ImproperlyConfigured(
        "bench.settings_bench serves an unauthenticated reference view: "
        "use it only with a calaim_bench* database."
    )

DEBUG = False
ROOT_URLCONF = "bench.reference_urls"
