"""The API plumbing: OAuth2 client credentials, /api/v1/me, errors, throttling,
pagination, updated_since, the OpenAPI schema and Swagger UI."""

import base64
import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from calaim.accounts import roles
from calaim.accounts.models import ApiClient, Organization
from calaim.accounts.services import api_client_create
from calaim.api.exceptions import Conflict, api_exception_handler
from calaim.api.filters import UpdatedSinceFilter, parse_updated_since
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.models import AuditEvent
from tests import factories
from tests.api_auth import issue_token

TOKEN_URL = "/o/token/"
ME_URL = "/api/v1/me"


@pytest.fixture
def provider(db):
    return factories.OrganizationFactory(name="Bayview ECM", ecm=True, cs=True)


@pytest.fixture
def provider_client(provider):
    """A provider system's client and its one-time plaintext secret."""
    return api_client_create(
        organization=provider,
        role_name=roles.PROVIDER_API,
        name="Bayview system",
        scopes=["members:read", "ecm:write"],
    )


def _basic(client_id, secret):
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _token_request(client, body, **headers):
    return client.post(
        TOKEN_URL,
        data=urlencode(body),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def _bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- OAuth2 client credentials ---------------------------------------------------


def test_client_credentials_with_basic_auth_gives_a_token_for_me(
    client, provider, provider_client
):
    api_client, secret = provider_client
    response = _token_request(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(api_client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"].split() == ["ecm:write", "members:read"]  # all allowed

    me = client.get(ME_URL, **_bearer(body["access_token"]))

    assert me.status_code == 200
    assert me.json() == {
        "uuid": str(api_client.user.uuid),
        "full_name": "Bayview system",
        "email": api_client.user.email,
        "is_service_account": True,
        "organization": {
            "uuid": str(provider.uuid),
            "name": "Bayview ECM",
            "capabilities": ["ecm_provider", "cs_provider"],
        },
        "roles": [roles.PROVIDER_API],
        "scopes": ["ecm:write", "members:read"],
        "client_id": api_client.client_id,
    }


def test_token_is_bound_to_the_service_account_and_the_issue_is_audited(
    client, provider_client
):
    api_client, secret = provider_client
    response = _token_request(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(api_client.client_id, secret),
    )
    assert response.status_code == 200
    token = get_access_token_model().objects.get(application=api_client)
    assert token.user == api_client.user
    event = AuditEvent.objects.get(action="login")
    assert event.actor_id == api_client.user.pk
    assert event.path == TOKEN_URL


def test_client_credentials_in_the_form_body_with_a_narrower_scope(
    client, provider_client
):
    api_client, secret = provider_client
    response = _token_request(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
            "scope": "members:read",
        },
    )
    assert response.status_code == 200, response.content
    me = client.get(ME_URL, **_bearer(response.json()["access_token"]))
    assert me.json()["scopes"] == ["members:read"]


def test_wrong_secret_is_refused_and_audited_as_a_failed_sign_in(
    client, provider_client
):
    api_client, _secret = provider_client
    response = _token_request(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(api_client.client_id, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not get_access_token_model().objects.exists()
    event = AuditEvent.objects.get(action="login_failed")
    assert event.actor_label == api_client.client_id


def test_a_scope_outside_the_clients_allowed_scopes_is_refused(client, provider_client):
    api_client, secret = provider_client
    response = _token_request(
        client,
        {"grant_type": "client_credentials", "scope": "members:read hl7:write"},
        HTTP_AUTHORIZATION=_basic(api_client.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not get_access_token_model().objects.exists()


def test_only_the_client_credentials_grant_is_accepted(provider_client):
    from oauth2_provider.oauth2_validators import OAuth2Validator
    from oauthlib.common import Request as OAuthRequest

    from calaim.api.oauth import ApiClientValidator

    api_client, _secret = provider_client
    api_client.authorization_grant_type = ApiClient.GRANT_AUTHORIZATION_CODE
    request = OAuthRequest(TOKEN_URL)
    request.client = api_client
    grant = ("authorization_code", api_client, request)

    assert OAuth2Validator().validate_grant_type(api_client.client_id, *grant)
    assert not ApiClientValidator().validate_grant_type(api_client.client_id, *grant)


def test_a_deactivated_service_account_gets_no_token_and_its_tokens_stop(
    client, provider_client
):
    api_client, secret = provider_client
    token = issue_token(api_client)
    api_client.user.is_active = False
    api_client.user.save(update_fields=["is_active"])

    refused = _token_request(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(api_client.client_id, secret),
    )
    me = client.get(ME_URL, **_bearer(token))

    assert refused.status_code in (400, 401)
    assert me.status_code == 401


def test_an_expired_token_gets_401_with_a_bearer_challenge(client, provider_client):
    api_client, _secret = provider_client
    token = issue_token(api_client, expires_in=-1)

    response = client.get(ME_URL, **_bearer(token))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_anonymous_api_call_gets_401_not_403(client, db):
    response = client.get(ME_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "errors": [
            {
                "field": None,
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
        ]
    }


def test_a_person_calls_me_through_the_browser_session_without_scopes(client, cast):
    client.force_login(cast.supervisor)

    body = client.get(ME_URL).json()

    assert body["is_service_account"] is False
    assert body["roles"] == [roles.SUPERVISOR]
    assert body["scopes"] == []
    assert body["client_id"] is None
    assert body["organization"]["uuid"] == str(cast.ecm_provider.uuid)


def test_me_writes_no_audit_event_and_takes_three_queries(
    client, provider_client, django_assert_num_queries
):
    token = issue_token(provider_client[0])
    events = AuditEvent.objects.count()  # the client's creation
    # the token with its client and user, the organization, the roles
    with django_assert_num_queries(3):
        response = client.get(ME_URL, **_bearer(token))
    assert response.status_code == 200
    assert AuditEvent.objects.count() == events


def test_a_token_call_opens_no_browser_session(client, provider_client):
    from django.contrib.sessions.models import Session

    token = issue_token(provider_client[0])

    response = client.get(ME_URL, **_bearer(token))

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_session_writes_to_the_api_need_the_csrf_token(cast):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.supervisor)

    response = browser.post(ME_URL, {}, content_type="application/json")

    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert error["code"] == "permission_denied"
    assert "CSRF" in error["message"]


# --- The error shape ---------------------------------------------------------------


def test_unknown_api_path_is_404_in_the_error_shape(client, provider_client):
    token = issue_token(provider_client[0])

    response = client.get("/api/v1/no-such-thing", **_bearer(token))

    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"field": None, "code": "not_found", "message": "Not found."}]
    }


def test_unknown_page_outside_the_api_stays_an_html_404(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_wrong_method_is_405_in_the_error_shape(client, provider_client):
    token = issue_token(provider_client[0])

    response = client.delete(ME_URL, **_bearer(token))

    assert response.status_code == 405
    (error,) = response.json()["errors"]
    assert error["code"] == "method_not_allowed"


def test_malformed_json_is_400_in_the_error_shape(client, provider_client):
    token = issue_token(provider_client[0])

    response = client.post(
        ME_URL, "{not json", content_type="application/json", **_bearer(token)
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_handler_flattens_nested_validation_errors_per_field(db):
    exc = exceptions.ValidationError(
        {
            "cin": [exceptions.ErrorDetail("Not a CIN.", code="invalid_cin")],
            "addresses": [
                {},
                {"zip": [exceptions.ErrorDetail("Required.", code="required")]},
            ],
            "non_field_errors": [exceptions.ErrorDetail("Dates cross.", code="dates")],
        }
    )

    response = api_exception_handler(exc, {})

    assert response.status_code == 400
    assert response.data == {
        "errors": [
            {"field": "cin", "code": "invalid_cin", "message": "Not a CIN."},
            {"field": "addresses.1.zip", "code": "required", "message": "Required."},
            {"field": None, "code": "dates", "message": "Dates cross."},
        ]
    }


def test_handler_maps_djangos_validation_error_from_services(db):
    exc = DjangoValidationError(
        {
            "roles": DjangoValidationError("Unknown role.", code="unknown_role"),
            "__all__": DjangoValidationError(
                "End before start %(x)s.", params={"x": 1}
            ),
        }
    )

    response = api_exception_handler(exc, {})

    assert response.status_code == 400
    assert response.data["errors"] == [
        {"field": "roles", "code": "unknown_role", "message": "Unknown role."},
        {"field": None, "code": "invalid", "message": "End before start 1."},
    ]


def test_handler_maps_a_plain_list_validation_error(db):
    response = api_exception_handler(DjangoValidationError(["One.", "Two."]), {})

    assert [e["message"] for e in response.data["errors"]] == ["One.", "Two."]
    assert {e["field"] for e in response.data["errors"]} == {None}


def test_handler_maps_http404_without_echoing_its_message(db):
    response = api_exception_handler(Http404("Member 12345 does not exist"), {})

    assert response.status_code == 404
    assert response.data["errors"] == [
        {"field": None, "code": "not_found", "message": "Not found."}
    ]


def test_handler_maps_permission_denied_with_its_reason(db):
    response = api_exception_handler(
        PermissionDenied("Care managers cannot authorize."), {}
    )

    assert response.status_code == 403
    assert response.data["errors"][0]["message"] == "Care managers cannot authorize."
    assert response.data["errors"][0]["code"] == "permission_denied"


def test_handler_gives_409_for_a_stale_version(db):
    response = api_exception_handler(Conflict(code="stale_version"), {})

    assert response.status_code == 409
    assert response.data["errors"][0]["code"] == "stale_version"


def test_handler_leaves_unexpected_errors_to_django(db):
    assert api_exception_handler(RuntimeError("boom"), {}) is None


# --- Throttling --------------------------------------------------------------------


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "machine": "1000/min",
            "person": "1000/min",
            "anonymous": "1000/min",
            **rates,
        },
    }


def test_a_client_over_its_rate_gets_429_in_the_error_shape(
    client, settings, provider, provider_client
):
    _rates(settings, machine="2/min")
    token = issue_token(provider_client[0])
    other_client, _ = api_client_create(
        organization=provider,
        role_name=roles.PROVIDER_API,
        name="Bayview second system",
        scopes=["members:read"],
    )
    other_token = issue_token(other_client)

    statuses = [client.get(ME_URL, **_bearer(token)).status_code for _ in range(2)]
    throttled = client.get(ME_URL, **_bearer(token))
    other = client.get(ME_URL, **_bearer(other_token))

    assert statuses == [200, 200]
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    (error,) = throttled.json()["errors"]
    assert error["code"] == "throttled"
    assert other.status_code == 200  # one bucket per client


def test_people_have_their_own_lower_rate(client, settings, cast):
    _rates(settings, person="1/min")
    client.force_login(cast.supervisor)

    assert client.get(ME_URL).status_code == 200
    assert client.get(ME_URL).status_code == 429


# --- updated_since and pagination -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-31T08:00:00Z", datetime(2026, 1, 31, 8, tzinfo=UTC)),
        ("2026-01-31T00:00:00-08:00", datetime(2026, 1, 31, 8, tzinfo=UTC)),
        ("2026-01-31T08:00:00.250+00:00", datetime(2026, 1, 31, 8, 0, 0, 250000, UTC)),
    ],
)
def test_updated_since_accepts_iso_8601_with_an_offset(raw, expected):
    assert parse_updated_since(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2026-01-31T08:00:00", "timezone_required"),
        ("2026-01-31", "timezone_required"),
        ("yesterday", "invalid"),
        ("2026-13-01T00:00:00Z", "invalid"),
        ("2026-01-31T08:00:00 08:00", "invalid"),  # an unencoded + became a space
    ],
)
def test_updated_since_refuses_bad_input_with_a_clear_error(db, raw, code):
    with pytest.raises(exceptions.ValidationError) as raised:
        parse_updated_since(raw)

    (error,) = api_exception_handler(raised.value, {}).data["errors"]
    assert error["field"] == "updated_since"
    assert error["code"] == code
    assert "ISO 8601" in error["message"]


def _api_request(query=""):
    return Request(APIRequestFactory().get(f"/api/v1/anything?{query}"))


class _OrganizationList:
    updated_since_field = "updated_at"


def test_updated_since_filter_keeps_rows_changed_at_or_after_the_moment(db):
    old, same, new = (factories.OrganizationFactory(ecm=True) for _ in range(3))
    moment = timezone.now()
    Organization.objects.filter(pk=old.pk).update(
        updated_at=moment - timedelta(seconds=1)
    )
    Organization.objects.filter(pk=same.pk).update(updated_at=moment)
    Organization.objects.filter(pk=new.pk).update(
        updated_at=moment + timedelta(hours=1)
    )
    query = urlencode({"updated_since": moment.isoformat()})

    kept = UpdatedSinceFilter().filter_queryset(
        _api_request(query), Organization.objects.all(), _OrganizationList()
    )
    unfiltered = UpdatedSinceFilter().filter_queryset(
        _api_request(), Organization.objects.all(), _OrganizationList()
    )

    assert set(kept) == {same, new}
    assert unfiltered.count() == 3


def test_cursor_pages_cover_every_row_once_in_a_stable_order(
    db, django_assert_num_queries
):
    for _ in range(5):
        factories.OrganizationFactory(ecm=True)
    seen = []
    query = "page_size=2"
    while True:
        paginator = CursorPagination()
        request = _api_request(query)
        with django_assert_num_queries(1):
            page = paginator.paginate_queryset(Organization.objects.all(), request)
        seen += page
        next_link = paginator.get_next_link()
        if next_link is None:
            break
        query = next_link.split("?", 1)[1]

    assert len(seen) == 5
    assert [o.uuid for o in seen] == sorted(o.uuid for o in seen)


def test_cursor_page_size_is_capped(db):
    paginator = CursorPagination()
    assert paginator.get_page_size(_api_request("page_size=100000")) == 500
    assert paginator.get_page_size(_api_request()) == 50


# --- RequiresScope -------------------------------------------------------------------


def _scoped_request(user, token=None):
    request = Request(APIRequestFactory().get(ME_URL))
    request.user = user
    request.auth = token
    return request


def _token_row(api_client, scopes):
    issue_token(api_client, scopes=scopes)
    return get_access_token_model().objects.filter(application=api_client).latest("id")


def test_requires_scope_checks_the_token_of_a_machine(provider_client):
    api_client, _secret = provider_client
    reader = _token_row(api_client, ["members:read"])

    assert RequiresScope("members:read").has_permission(
        _scoped_request(api_client.user, reader), None
    )
    with pytest.raises(exceptions.PermissionDenied) as raised:
        RequiresScope("ecm:write").has_permission(
            _scoped_request(api_client.user, reader), None
        )
    assert raised.value.get_codes() == "insufficient_scope"


def test_requires_scope_refuses_a_scope_since_taken_from_the_client(provider_client):
    api_client, _secret = provider_client
    token = _token_row(api_client, ["members:read", "ecm:write"])
    api_client.allowed_scopes = "members:read"
    api_client.save(update_fields=["allowed_scopes"])
    token.refresh_from_db()

    with pytest.raises(exceptions.PermissionDenied):
        RequiresScope("ecm:write").has_permission(
            _scoped_request(api_client.user, token), None
        )


def test_requires_scope_lets_people_through_on_their_role(cast):
    permission = RequiresScope("ecm:write", roles=[roles.CARE_MANAGER])

    assert permission.has_permission(_scoped_request(cast.lead_care_manager), None)
    with pytest.raises(exceptions.PermissionDenied) as raised:
        permission.has_permission(_scoped_request(cast.plan_admin), None)
    assert raised.value.get_codes() == "role_not_allowed"


def test_requires_scope_refuses_anonymous_and_unknown_scopes(db):
    from django.contrib.auth.models import AnonymousUser

    assert not RequiresScope("members:read").has_permission(
        _scoped_request(AnonymousUser()), None
    )
    with pytest.raises(ValueError, match="known scopes"):
        RequiresScope("members:raed")


# --- api_client_create and seed_demo ----------------------------------------------


def test_api_client_create_hashes_the_secret_and_returns_it_once(provider_client):
    api_client, secret = provider_client
    stored = ApiClient.objects.get(pk=api_client.pk)

    assert stored.client_secret != secret
    assert stored.client_secret.startswith(("md5$", "pbkdf2_sha256$"))
    assert stored.user.is_service_account
    assert stored.user.has_role(roles.PROVIDER_API)
    assert stored.allowed_scopes == "ecm:write members:read"
    assert AuditEvent.objects.filter(
        action="create", object_type="api_client", object_id=api_client.client_id
    ).exists()


@pytest.mark.parametrize(
    ("role_name", "scopes"),
    [
        (roles.HOSPITAL_FEED, ["members:read"]),
        (roles.PROVIDER_API, ["hl7:write"]),
        (roles.PROVIDER_API, ["members:write"]),
        (roles.PROVIDER_API, []),
        (roles.CARE_MANAGER, ["members:read"]),
    ],
)
def test_api_client_create_refuses_scopes_that_do_not_fit_the_role(
    provider, role_name, scopes
):
    with pytest.raises(DjangoValidationError):
        api_client_create(
            organization=provider, role_name=role_name, name="Nope", scopes=scopes
        )
    assert not ApiClient.objects.exists()


def test_seed_demo_prints_clients_whose_secrets_work_on_every_run(client, db):
    first, second = StringIO(), StringIO()
    call_command("seed_demo", "--members", "2", stdout=first)
    call_command("seed_demo", "--members", "2", stdout=second)

    assert "OAuth2 clients" in first.getvalue()
    assert first.getvalue() == second.getvalue()
    assert ApiClient.objects.count() == 6
    match = re.search(
        r"(demo-harbor-community-care)\s.*\n\s+secret: (\S+)", first.getvalue()
    )
    client_id, secret = match.groups()
    response = _token_request(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(client_id, secret),
    )
    assert response.status_code == 200
    hospital = ApiClient.objects.get(client_id="demo-mercy-bay-hospital")
    assert hospital.allowed_scopes == "hl7:write"
    assert hospital.user.has_role(roles.HOSPITAL_FEED)


# --- OpenAPI schema and Swagger UI -------------------------------------------------


def test_schema_is_openapi_3_and_describes_me_and_the_token_flow(
    client, provider_client
):
    token = issue_token(provider_client[0])

    response = client.get(reverse("api_schema"), **_bearer(token))

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me" in schema["paths"]
    flow = schema["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flow["clientCredentials"]["tokenUrl"] == "/o/token/"
    assert set(flow["clientCredentials"]["scopes"]) == {
        "members:read",
        "ecm:write",
        "referrals:write",
        "hl7:write",
    }


def test_swagger_ui_loads_only_local_assets(client, cast):
    client.force_login(cast.supervisor)

    page = client.get(reverse("api_docs"))

    assert page.status_code == 200
    html = page.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) >= 4  # css, favicon, bundle, preset, init script
    assert "//" not in html.replace("<!DOCTYPE html>", "")
    for url in urls:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
        else:
            assert url.startswith(reverse("api_docs") + "?"), url
            script = client.get(url.replace("&amp;", "&"))
            assert script.status_code == 200
            assert b"SwaggerUIBundle" in script.content
            assert b"http://" not in script.content
            assert b"https://" not in script.content
