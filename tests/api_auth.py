"""How the matrix calls the API: machines with a bearer token, people with a session."""

import secrets
from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, set_token_value

from calaim.accounts.models import ApiClient
from calaim.accounts.services import SCOPES_FOR_ROLE


def issue_token(api_client, *, scopes=None, expires_in=3600) -> str:
    """A real access token row for `api_client` (its allowed scopes by default),
    stored the way the toolkit stores it; returns the raw bearer token."""
    raw = secrets.token_urlsafe(32)
    token = get_access_token_model()(
        user=api_client.user,
        application=api_client,
        scope=" ".join(
            scopes if scopes is not None else api_client.allowed_scopes.split()
        ),
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    set_token_value(token, raw)
    token.save()
    return raw


def api_client_for(user) -> ApiClient:
    """The service account's client, created with every scope its role may hold."""
    client = ApiClient.objects.filter(user=user).first()
    if client is None:
        (role,) = [name for name in user.role_names if name in SCOPES_FOR_ROLE]
        client = ApiClient.objects.create(
            name=f"{user.full_name} client",
            user=user,
            client_type=ApiClient.CLIENT_CONFIDENTIAL,
            authorization_grant_type=ApiClient.GRANT_CLIENT_CREDENTIALS,
            allowed_scopes=" ".join(SCOPES_FOR_ROLE[role]),
        )
    return client


def authenticate_api_client(client, user):
    """Sign the Django test client in as `user` for an API call.

    A service account calls with a bearer token of its own client; a person
    through a browser session.
    """
    if not user.is_service_account:
        client.force_login(user)
        return client
    token = issue_token(api_client_for(user))
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client
