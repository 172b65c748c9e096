"""OAuth2 for provider systems: client credentials only, scopes capped per client.

django-oauth-toolkit does the protocol; this module narrows it to what CalAIM Care
allows. An `ApiClient` is bound to a service-account user, may use only the
client-credentials grant, and gets only the scopes in its `allowed_scopes`. Tokens
carry that service account as their user, so DRF, the services and the audit trail
all see the machine as the actor.
"""

import base64
import binascii
import hashlib
import json
from urllib.parse import unquote_plus

from django.conf import settings
from oauth2_provider import views as oauth2_views
from oauth2_provider.models import AbstractApplication, get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from calaim.audit.models import AuditAction
from calaim.audit.services import audit_login

CLIENT_CREDENTIALS = AbstractApplication.GRANT_CLIENT_CREDENTIALS


def all_scopes() -> dict[str, str]:
    """Every scope the platform knows, with its description (settings)."""
    return settings.OAUTH2_PROVIDER["SCOPES"]


def client_scopes(application) -> list[str]:
    """The scopes `application` may hold: its allowed_scopes that still exist."""
    known = all_scopes()
    return [scope for scope in application.allowed_scopes.split() if scope in known]


def token_scopes(access_token) -> frozenset[str]:
    """The scopes a token grants now: what it was issued with, less any scope
    since taken away from its client (a token lives an hour; a revoked scope
    should not)."""
    return frozenset(access_token.scope.split()) & frozenset(
        client_scopes(access_token.application)
    )


def is_access_token(auth) -> bool:
    return isinstance(auth, get_access_token_model())


class ApiClientScopes(BaseScopes):
    """Scopes backend: a client may ask for its allowed_scopes and no others.

    Asking for no scope at all gets every allowed scope, so a provider's system
    needs only its id and secret.
    """

    def get_all_scopes(self):
        return all_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return client_scopes(application) if application is not None else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)


def _usable_service_account(user) -> bool:
    return bool(user is not None and user.is_active and user.is_service_account)


class ApiClientValidator(OAuth2Validator):
    """The token endpoint's rules: client credentials, active service accounts."""

    def validate_grant_type(
        self, client_id, grant_type, client, request, *args, **kwargs
    ):
        # Provider systems are machines: no user-facing grant, whatever a client
        # row says, and no token for a deactivated service account.
        if grant_type != "client_credentials":
            return False
        if not _usable_service_account(client.user):
            return False
        return super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        # The toolkit stores client-credentials tokens without a user; bind them to
        # the client's service account, the actor for everything the token does.
        if request.grant_type == "client_credentials":
            request.user = request.client.user
        return super()._create_access_token(
            expires, request, token, source_refresh_token=source_refresh_token
        )

    def validate_bearer_token(self, token, scopes, request):
        if not super().validate_bearer_token(token, scopes, request):
            return False
        # A token outlives nothing: deactivating the service account ends it.
        if _usable_service_account(request.user):
            return True
        request.oauth2_error = {
            "error": "invalid_token",
            "error_description": "The access token is invalid.",
        }
        return False


def _attempted_client_id(request) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])[:254]
    return request.POST.get("client_id", "")[:254]


class TokenView(oauth2_views.TokenView):
    """The toolkit's token endpoint, with each issue and refusal in the audit trail
    (HIPAA 164.312(b): a client credential is a sign-in)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            raw = json.loads(response.content).get("access_token", "")
            access_token = (
                get_access_token_model()
                .objects.select_related("user")
                .filter(token_checksum=hashlib.sha256(raw.encode()).hexdigest())
                .first()
            )
            user = access_token.user if access_token else None
            audit_login(request=request, user=user, action=AuditAction.LOGIN)
        elif response.status_code == 401:
            audit_login(
                request=request,
                user=None,
                action=AuditAction.LOGIN_FAILED,
                attempted=_attempted_client_id(request),
            )
        return response
