"""Every registered page and endpoint, called as every member of the cast."""

import pytest
from django.core import mail

from tests import matrix
from tests.cast import ANONYMOUS

ENDPOINTS = matrix.load_all()
CASES = [
    pytest.param(name, caller, id=f"{name}-{caller}")
    for name, endpoint in ENDPOINTS.items()
    for caller in matrix.callers_for(endpoint)
]


def _request(endpoint, cast):
    """The URL and arguments of the call. Built before the database fingerprint,
    so that `url`/`data` lambdas may create the record they point at (through its
    service) without that counting as a write by the caller."""
    kwargs = dict(endpoint.extra)
    if endpoint.content_type:
        kwargs["content_type"] = endpoint.content_type
    if endpoint.data is not None:
        kwargs["data"] = endpoint.data(cast)
    return endpoint.url(cast), kwargs


def _call(client, endpoint, url, kwargs):
    return getattr(client, endpoint.method.lower())(url, **kwargs)


def _client_for(caller, cast, client, endpoint):
    if caller == ANONYMOUS:
        return client
    user = getattr(cast, caller)
    if endpoint.kind == matrix.API:
        from tests.api_auth import authenticate_api_client

        return authenticate_api_client(client, user)
    client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "caller"), CASES)
def test_permission_matrix(name, caller, cast, client):
    endpoint = ENDPOINTS[name]
    client = _client_for(caller, cast, client, endpoint)
    allowed = caller in endpoint.allowed
    url, kwargs = _request(endpoint, cast)
    before = None if allowed else matrix.database_fingerprint()
    mail.outbox = []

    response = _call(client, endpoint, url, kwargs)

    expected = matrix.expected_status(endpoint, caller)
    assert response.status_code in expected, (
        f"{name} as {caller}: got {response.status_code}, expected {expected}"
    )
    if caller == ANONYMOUS and endpoint.kind == matrix.PAGE:
        assert "/accounts/login/" in response["Location"]
    if not allowed:
        assert matrix.database_fingerprint() == before, f"{name} as {caller} wrote"
        assert mail.outbox == [], f"{name} as {caller} sent e-mail"


def test_every_route_is_in_the_matrix(cast):
    """A page or endpoint added without a matrix entry fails here."""
    from urllib.parse import urlparse

    from django.urls import get_resolver, resolve

    covered = {
        resolve(urlparse(endpoint.url(cast)).path).view_name
        for endpoint in ENDPOINTS.values()
    }
    routes = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                inner = (
                    f"{namespace}{pattern.namespace}:"
                    if pattern.namespace
                    else namespace
                )
                walk(pattern.url_patterns, inner)
            elif pattern.name:
                routes.add(namespace + pattern.name)

    walk(get_resolver().url_patterns)
    ours = {
        route
        for route in routes
        if not route.startswith(matrix.EXEMPT_NAMESPACES)
        and route not in matrix.EXEMPT_ROUTES
    }
    missing = ours - covered
    assert not missing, f"routes without a permission-matrix entry: {sorted(missing)}"
