"""The one settings module, read from the environment (django-environ).

Production values must be given explicitly: with DEBUG off, a missing SECRET_KEY,
ALLOWED_HOSTS or DATABASE_URL stops start-up. With DEBUG on (a laptop, the demo,
the tests) and no DATABASE_URL / REDIS_URL, an embedded PostgreSQL and Redis are
started from pip packages under CALAIM_DATA_DIR (see calaim/embedded.py).
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("CALAIM_TESTING", default=False)
DATA_DIR = Path(env.str("CALAIM_DATA_DIR", default=str(BASE_DIR / ".data")))


def _required_in_production(name):
    if name in env.ENVIRON:
        return True
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is off (production). "
            "See .env.example; for a laptop use `make run`, which sets DEBUG=true."
        )
    return False


if _required_in_production("SECRET_KEY"):
    SECRET_KEY = env.str("SECRET_KEY")
else:
    SECRET_KEY = "insecure-development-key-never-used-in-production-0123456789abcdef"

if _required_in_production("ALLOWED_HOSTS"):
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

if _required_in_production("DATABASE_URL"):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    from calaim import embedded

    DATABASES = {"default": env.db_url_config(embedded.ensure_postgres(DATA_DIR))}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Hot fixed queries run as server-side prepared statements (calaim.prepared);
# false behind a transaction-pooling PgBouncer older than 1.21.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# The 834 import writes batches on this many more connections while it prepares
# the next one (members.services.import_batches.Pipeline); 0: one batch after
# another on the import's own connection.
IMPORT_834_WRITERS = env.int("IMPORT_834_WRITERS", default=2)
DATABASES["default"].setdefault("TEST", {})
if "CALAIM_TEST_DATABASE" in env.ENVIRON:
    # Lets several test runs share one server without sharing a test database.
    DATABASES["default"]["TEST"]["NAME"] = env.str("CALAIM_TEST_DATABASE")

if "REDIS_URL" in env.ENVIRON:
    REDIS_URL = env.str("REDIS_URL")
elif DEBUG:
    from calaim import embedded

    REDIS_URL = embedded.ensure_redis(DATA_DIR)
else:
    raise ImproperlyConfigured("REDIS_URL must be set when DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from static/, no CDN
    "oauth2_provider",
    "guardian",
    "django_htmx",
    "axes",
    # Layer 0: the platform.
    "calaim.accounts",
    "calaim.audit",
    "calaim.outbox",
    "calaim.notifications",
    "calaim.work",
    "calaim.web",
    "calaim.links",
    # Layers 1-4: the domain apps, each importing only from the layers below.
    "members",
    "community_supports",
    "care_plans",
    "care_plans.assessments",
    "care_plans.hl7",
    "care_plans.transitions",
    "referrals",
    # Top: demo data, which may import every layer.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "calaim.audit.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, keeping sessions signed in with Django's ModelBackend (see there).
    "calaim.accounts.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle logoff: needs the user and the messages just above it.
    "calaim.web.middleware.IdleSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "calaim.audit.middleware.AuditMiddleware",
    # Last, so that lockout answers before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "calaim.urls"
WSGI_APPLICATION = "calaim.wsgi.application"

TEMPLATES = [
    {
        # Django's, rendering on a fresh frame-stack chunk (calaim.web.stack).
        "BACKEND": "calaim.web.templates.DjangoTemplates",
        "NAME": "django",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "calaim.web.context_processors.shell",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before anything checks them.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, loading the session's user with their organization,
    # roles and permissions in one query.
    "calaim.accounts.backends.UserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Tests create hundreds of users; the slow hash buys nothing there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Los_Angeles"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / ".staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sessions and security -------------------------------------------------------
# The database store, its per-request read built once (calaim/sessions.py).
SESSION_ENGINE = "calaim.sessions"
# A session ends 15 minutes after the last request the user made (HIPAA automatic
# logoff, 164.312(a)(2)(iii)); background polling does not count (calaim.web).
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

_secure = env.bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Behind a TLS-terminating proxy (docker-compose, a load balancer).
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- Account lockout (django-axes) -------------------------------------------------
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- django-guardian: explicit grants only ----------------------------------------
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# --- OAuth2 (client credentials for provider systems) ----------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.ApiClient"
OAUTH2_PROVIDER = {
    "SCOPES": {
        "members:read": "Read the members assigned to your organization",
        "ecm:write": "Record outreach, assessments, care plans and encounters",
        "referrals:write": "Receive, accept and close referrals",
        "hl7:write": "Send HL7 v2 ADT messages",
    },
    "DEFAULT_SCOPES": [],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_TOKEN_SECONDS", default=3600),
    # RFC 9700 (OAuth 2.0 Security BCP): adopt every compliant behaviour now.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# --- Celery -----------------------------------------------------------------------
# kombu spells a unix-socket Redis URL differently from redis-py.
CELERY_BROKER_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_TASK_ALWAYS_EAGER = False

# --- E-mail (never carries PHI: links only) -----------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@calaim.care")
# The SMTP server, as one URL: smtp+tls://user:password@smtp.example.org:587
if "EMAIL_URL" in env.ENVIRON:
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# --- Audit ------------------------------------------------------------------------
# HIPAA 164.316(b)(2)(i): keep six years.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=6 * 366)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

SILENCED_SYSTEM_CHECKS = [
    # Lockout is per account on purpose: clinics share one public address, and
    # locking an address after five failures would lock out a whole office.
    "axes.W006",
]

# Whitenoise serves from the finders in development, from STATIC_ROOT in production.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG and not TESTING

# --- Celery worker and beat, the outbox (calaim/celery.py, calaim.outbox) ----------
# At-least-once delivery: a task is acknowledged after it ran, and a worker that dies
# mid-task leaves its message to be delivered again; the outbox makes the effects
# idempotent, so "again" never means "twice".
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged message out again after this long; it must
    # outlast the hard time limit. The outbox sweep redelivers much sooner.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    "socket_connect_timeout": 3,
}
# A task running when the broker connection drops can no longer be acknowledged:
# stop it (its transaction rolls back) and let the message be delivered again.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TIMEZONE = TIME_ZONE
# Celery's Django fixup closes the database connection before and after every
# task unless this is set; calaim.celery closes it the way Django does after a
# request instead (past CONN_MAX_AGE, or when it broke): see there.
CELERY_DB_REUSE_MAX = 1_000_000_000

# The outbox sweep: how often, when a message counts as lost, how often to retry.
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=5)
OUTBOX_REDELIVER_AFTER_SECONDS = env.float("OUTBOX_REDELIVER_AFTER_SECONDS", default=10)
OUTBOX_SWEEP_BATCH = env.int("OUTBOX_SWEEP_BATCH", default=200)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=5)
OUTBOX_RETRY_MAX_SECONDS = env.float("OUTBOX_RETRY_MAX_SECONDS", default=3600)

CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "outbox.sweep",
        "schedule": OUTBOX_SWEEP_SECONDS,
        # A sweep nobody ran in time is replaced by the next one, not queued up.
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
    # 834 files whose import message was lost (broker outage) are queued again.
    "enrollment-files-sweep": {
        "task": "members.tasks.sweep_received_enrollment_files",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Breached referral clocks: expire unanswered offers, escalate the rest.
    "referral-clocks-sweep": {
        "task": "referrals.sweep_clocks",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
}

# HL7 intake (care_plans.hl7): the sweep runs pending messages whose task was lost.
HL7_SWEEP_SECONDS = env.float("HL7_SWEEP_SECONDS", default=5)
HL7_SWEEP_AFTER_SECONDS = env.float("HL7_SWEEP_AFTER_SECONDS", default=10)
HL7_MAX_ATTEMPTS = env.int("HL7_MAX_ATTEMPTS", default=5)
HL7_RETRY_BASE_SECONDS = env.float("HL7_RETRY_BASE_SECONDS", default=5)
CELERY_BEAT_SCHEDULE["hl7-sweep"] = {
    "task": "hl7.sweep",
    "schedule": HL7_SWEEP_SECONDS,
    "options": {"expires": HL7_SWEEP_SECONDS},
}

# Transitions of care: lead care manager alerts unacknowledged this long escalate to
# the supervisors (DOMAIN.md §10b); the beat looks every few minutes.
TRANSITIONS_ESCALATE_AFTER_HOURS = 24
CELERY_BEAT_SCHEDULE["transitions-escalate-alerts"] = {
    "task": "transitions.escalate_alerts",
    "schedule": 300.0,
    "options": {"expires": 300},
}

# Where the file e-mail backend writes (EMAIL_BACKEND=...filebased.EmailBackend).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail"))

# --- REST API (calaim/api) ----------------------------------------------------------
OAUTH2_PROVIDER.update(
    {
        # A client gets only its allowed_scopes; client credentials only; tokens
        # act as the client's service account (calaim/api/oauth.py).
        "SCOPES_BACKEND_CLASS": "calaim.api.oauth.ApiClientScopes",
        "OAUTH2_VALIDATOR_CLASS": "calaim.api.oauth.ApiClientValidator",
    }
)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The bearer scheme first: an anonymous call gets 401 with a
        # WWW-Authenticate challenge, not 403.
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        # The browser (Swagger UI, htmx); DRF enforces CSRF on it.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["calaim.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "calaim.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["calaim.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Per OAuth2 client: a provider's sync pages through its whole caseload.
        "machine": env.str("API_RATE_MACHINE", default="1200/min"),
        "person": env.str("API_RATE_PERSON", default="300/min"),
        "anonymous": env.str("API_RATE_ANONYMOUS", default="60/min"),
    },
    "EXCEPTION_HANDLER": "calaim.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Throttle counts in Redis, shared by every worker process.
CACHES = {
    **globals().get(
        "CACHES",
        {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    ),
    "api_throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "calaim",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CalAIM Care API",
    "DESCRIPTION": (
        "For ECM and Community Supports provider systems and hospital feeds. "
        "Get a token with OAuth2 client credentials at /o/token/. Errors are "
        '{"errors": [{"field", "code", "message"}]}; lists are cursor-paginated '
        "and accept updated_since."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/o/token/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise call an outside validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
