"""Automatic logoff: a session ends SESSION_IDLE_SECONDS after the last user-made
request; background polling neither extends nor saves it."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from calaim.web.middleware import LAST_ACTIVITY_KEY

BACKGROUND = {"HTTP_X_CALAIM_BACKGROUND": "1"}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def signed_in(client, cast):
    """The lead care manager with a session whose last activity we control."""
    client.force_login(cast.lead_care_manager)
    return client


def _set_last_activity(client, seconds_ago):
    session = client.session
    session[LAST_ACTIVITY_KEY] = timezone.now().timestamp() - seconds_ago
    session.save()
    return session[LAST_ACTIVITY_KEY]


def _last_activity(client):
    return client.session.get(LAST_ACTIVITY_KEY)


def _signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_user_request_stamps_and_extends_the_session(signed_in):
    old = _set_last_activity(signed_in, 600)
    expiry_before = Session.objects.get(session_key=signed_in.session.session_key)

    response = signed_in.get(reverse("home"))

    assert response.status_code == 200
    assert _last_activity(signed_in) > old + 590
    expiry_after = Session.objects.get(session_key=signed_in.session.session_key)
    assert expiry_after.expire_date > expiry_before.expire_date


def test_background_request_neither_extends_nor_saves_the_session(signed_in):
    old = _set_last_activity(signed_in, 600)
    row_before = Session.objects.get(session_key=signed_in.session.session_key)

    response = signed_in.get(reverse("home"), **BACKGROUND)

    assert response.status_code == 200
    assert _last_activity(signed_in) == old
    row_after = Session.objects.get(session_key=signed_in.session.session_key)
    assert row_after.expire_date == row_before.expire_date
    assert row_after.session_data == row_before.session_data


def test_background_polling_does_not_keep_an_idle_session_alive(signed_in):
    _set_last_activity(signed_in, 800)
    for _ in range(3):
        signed_in.get(reverse("home"), **BACKGROUND)
    session = signed_in.session
    session[LAST_ACTIVITY_KEY] -= 101  # the clock moves past 15 minutes
    session.save()

    response = signed_in.get(reverse("home"), **BACKGROUND, **HTMX)

    assert response.headers["HX-Redirect"].startswith(reverse("login"))
    assert _signed_in_user_id(signed_in) is None


def test_request_just_inside_the_limit_is_served(signed_in):
    _set_last_activity(signed_in, 15 * 60 - 5)

    response = signed_in.get(reverse("home"))

    assert response.status_code == 200
    assert _signed_in_user_id(signed_in) is not None


def test_idle_page_request_signs_out_and_explains_on_the_login_page(signed_in, cast):
    _set_last_activity(signed_in, 15 * 60 + 1)
    chart = reverse("member_chart", args=[cast.member.uuid])

    response = signed_in.get(chart)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={chart}"
    assert _signed_in_user_id(signed_in) is None
    login_page = signed_in.get(response["Location"])
    assert "You were signed out after 15 minutes without activity." in (
        login_page.content.decode()
    )
    assert (
        AuditEvent.objects.filter(
            action="logout", actor_id=cast.lead_care_manager.pk
        ).count()
        == 1
    )
    # The member was never shown: no view of them was recorded.
    assert not AuditEvent.objects.filter(member_ids__contains=[cast.member.pk])


def test_idle_post_signs_out_without_running_the_view(signed_in):
    _set_last_activity(signed_in, 15 * 60 + 1)

    response = signed_in.post(reverse("session_keepalive"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert _signed_in_user_id(signed_in) is None


def test_idle_htmx_request_gets_a_client_redirect(signed_in, cast):
    _set_last_activity(signed_in, 15 * 60 + 1)
    chart = reverse("member_chart", args=[cast.member.uuid])

    response = signed_in.get(
        reverse("home"), HTTP_HX_CURRENT_URL=f"http://testserver{chart}", **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={chart}"
    assert response.content == b""
    assert _signed_in_user_id(signed_in) is None


def test_idle_json_request_gets_401(signed_in):
    _set_last_activity(signed_in, 15 * 60 + 1)

    response = signed_in.post(
        reverse("session_keepalive"), HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "session_expired"
    assert _signed_in_user_id(signed_in) is None


def test_the_warning_script_lands_on_the_login_form_with_the_reason(signed_in):
    _set_last_activity(signed_in, 15 * 60 + 2)

    response = signed_in.get(reverse("login") + "?next=/")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="password"' in body
    assert "You were signed out after 15 minutes without activity." in body
    assert _signed_in_user_id(signed_in) is None


def test_idle_limit_is_read_from_settings_at_request_time(signed_in, settings):
    settings.SESSION_IDLE_SECONDS = 60
    _set_last_activity(signed_in, 30)
    assert signed_in.get(reverse("home")).status_code == 200

    _set_last_activity(signed_in, 61)
    response = signed_in.get(reverse("home"))

    assert response.status_code == 302
    follow = signed_in.get(response["Location"])
    assert "signed out after 1 minute without activity" in follow.content.decode()


def test_keepalive_extends_the_session(signed_in):
    old = _set_last_activity(signed_in, 14 * 60)

    response = signed_in.post(reverse("session_keepalive"))

    assert response.status_code == 204
    assert _last_activity(signed_in) > old + 14 * 60 - 10


def test_keepalive_refuses_get(signed_in):
    assert signed_in.get(reverse("session_keepalive")).status_code == 405


def test_sign_in_starts_the_idle_clock(client, cast):
    from tests.factories import PASSWORD

    response = client.post(
        reverse("login"),
        {"username": cast.lead_care_manager.email, "password": PASSWORD},
    )

    assert response.status_code == 302
    assert _last_activity(client) == pytest.approx(timezone.now().timestamp(), abs=30)
