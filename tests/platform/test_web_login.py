"""Sign-in: people only; service accounts never get a browser session."""

from django.urls import reverse

from calaim.audit.models import AuditEvent
from tests.factories import PASSWORD

GENERIC_ERROR = "Your e-mail and password did not match."


def _sign_in(client, email, password=PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_person_signs_in_and_lands_on_home(client, cast):
    response = _sign_in(client, cast.lead_care_manager.email)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(cast.lead_care_manager.pk)


def test_wrong_password_gets_the_generic_error(client, cast):
    response = _sign_in(client, cast.lead_care_manager.email, "not-the-password-1")

    assert response.status_code == 200
    assert GENERIC_ERROR in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_service_account_is_refused_even_with_its_password(client, cast):
    service_account = cast.provider_api
    service_account.set_password(PASSWORD)
    service_account.save(update_fields=["password"])

    response = _sign_in(client, service_account.email)

    assert response.status_code == 200
    body = response.content.decode()
    assert GENERIC_ERROR in body
    assert "service account" not in body.lower()
    assert "_auth_user_id" not in client.session
    # Nothing the service account could reach is served afterwards either.
    assert client.get(reverse("home")).status_code == 302
    # The attempt is a failed sign-in in the audit trail (and counts for lockout).
    assert AuditEvent.objects.filter(
        action="login_failed", actor_label=service_account.email
    ).exists()
    assert not AuditEvent.objects.filter(action="login").exists()


def test_service_account_is_locked_out_like_anyone(client, cast, settings):
    service_account = cast.provider_api
    service_account.set_password(PASSWORD)
    service_account.save(update_fields=["password"])

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, service_account.email)
    response = _sign_in(client, service_account.email)

    assert "Account locked" in response.content.decode()


def test_login_page_labels_every_input(client, db):
    body = client.get(reverse("login")).content.decode()

    assert '<label for="id_username"' in body
    assert '<label for="id_password"' in body
    assert "<main" in body
    assert "<footer" in body
    assert "<title>Sign in · CalAIM Care</title>" in body
