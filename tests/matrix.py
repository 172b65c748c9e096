"""The permission-matrix harness.

Register every page and API call with `register(...)`, saying which members of the
cast (tests/cast.py) get in. tests/platform/test_permission_matrix.py then calls it
as every member of the cast and checks:
- allowed: the expected success status;
- anonymous: a redirect to sign-in (pages) or 401 (API);
- `forbidden`: 403 (they may see the record but their role lacks the action);
- everyone else: `denied_status` (404 by default, so existence does not leak);
and for every call that is not allowed, that nothing in the database changed and
no e-mail was sent.

Endpoints are registered in the test modules of each app, which the matrix test
imports through ENDPOINT_MODULES.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from tests.cast import ANONYMOUS, EVERYONE, MACHINES, PEOPLE, Cast

_ROOT = Path(__file__).resolve().parents[1]

# Modules whose import registers endpoints: every tests/<app>/*endpoints.py.
ENDPOINT_MODULES = sorted(
    ".".join(path.relative_to(_ROOT).with_suffix("").parts)
    for path in (_ROOT / "tests").rglob("*endpoints.py")
)

# Routes that are not about member data, each tested on its own.
EXEMPT_ROUTES = {"login", "logout", "health"}
EXEMPT_NAMESPACES = ("admin:", "oauth2_provider:")

PAGE = "page"
API = "api"

# Tables whose changes are expected on any request (sign-in bookkeeping, audit).
UNWATCHED_TABLES = {
    "audit_auditevent",
    "django_session",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
    "oauth2_provider_accesstoken",
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[Cast], str]
    allowed: frozenset
    kind: str = PAGE
    forbidden: frozenset = frozenset()
    denied_status: int = 404
    ok_status: tuple = (200,)
    data: Callable[[Cast], dict] | None = None
    content_type: str | None = None
    extra: dict = field(default_factory=dict)


ENDPOINTS: dict[str, Endpoint] = {}


def register(name, method, url, *, allowed, kind=PAGE, forbidden=(), **options):
    unknown = (set(allowed) | set(forbidden)) - set(EVERYONE)
    if unknown:
        raise ValueError(f"{name}: not in the cast: {sorted(unknown)}")
    if name in ENDPOINTS:
        raise ValueError(f"{name} registered twice")
    ENDPOINTS[name] = Endpoint(
        name=name,
        method=method.upper(),
        url=url,
        allowed=frozenset(allowed),
        kind=kind,
        forbidden=frozenset(forbidden),
        **options,
    )


def load_all() -> dict[str, Endpoint]:
    import importlib

    for module in ENDPOINT_MODULES:
        importlib.import_module(module)
    return ENDPOINTS


def callers_for(endpoint: Endpoint) -> list[str]:
    """Who to try: people and anonymous for pages; machines too for the API."""
    if endpoint.kind == PAGE:
        return [*PEOPLE, ANONYMOUS]
    return [*PEOPLE, *MACHINES, ANONYMOUS]


def expected_status(endpoint: Endpoint, caller: str):
    if caller in endpoint.allowed:
        return endpoint.ok_status
    if caller == ANONYMOUS:
        return (302,) if endpoint.kind == PAGE else (401,)
    if caller in endpoint.forbidden:
        return (403,)
    return (endpoint.denied_status,)


def database_fingerprint() -> dict[str, str]:
    """A checksum of every watched table's rows, to prove a call changed nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] not in UNWATCHED_TABLES]
        # Table names come from pg_tables, not from input.
        template = (
            "SELECT '{0}', count(*), "
            "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            'FROM "{0}" t'
        )
        parts = [template.format(table) for table in tables]
        cursor.execute(" UNION ALL ".join(parts))
        return {
            table: f"{count}:{digest}" for table, count, digest in cursor.fetchall()
        }
