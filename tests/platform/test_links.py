"""Action links: signed, expiring, single use; GET never acts; audited; e-mailed
through the outbox without PHI."""

import threading
import time
from datetime import timedelta

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from calaim.audit.models import AuditEvent
from calaim.errors import ConflictError
from calaim.links import action_link_create, register_link_action
from calaim.links.models import ActionLink
from calaim.links.registry import unregister_link_action
from calaim.links.services import EMAIL_KIND, action_link_revoke, link_token
from calaim.outbox.models import OutboxMessage
from calaim.outbox.services import outbox_deliver

ACTION = "tests.mark"
RECIPIENT = "intake@provider.example"
CALLS: list[dict] = []


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200)


def mark(*, object_id, data, link):
    if data.get("reason") == "refuse":
        raise ValidationError("The offer was already withdrawn.")
    if data.get("reason") == "conflict":
        raise ConflictError("Someone else answered this offer first.")
    # A database effect inside the claim's transaction: it must commit once.
    AuditEvent.objects.create(
        occurred_at=timezone.now(), action="update", object_type="test_effect",
        object_id=object_id,
    )  # fmt: skip
    CALLS.append({"object_id": object_id, "data": data, "link": link.pk})
    time.sleep(float(data.get("sleep", 0) or 0))
    return f"Marked {object_id}."


class SlowForm(forms.Form):
    sleep = forms.CharField(required=False)


@pytest.fixture(autouse=True)
def actions():
    CALLS.clear()
    register_link_action(ACTION, handler=mark, form=ReasonForm, label="Mark it")
    register_link_action(
        "tests.slow", handler=mark, form=SlowForm, label="Mark it slowly"
    )
    yield
    unregister_link_action(ACTION)
    unregister_link_action("tests.slow")


def issue(actor, *, action=ACTION, object_id="offer-17", expires_in=timedelta(days=3)):
    url = action_link_create(
        action=action,
        object_id=object_id,
        recipient_email=RECIPIENT,
        expires_in=expires_in,
        actor=actor,
    )
    return url, ActionLink.objects.get(object_id=object_id, action=action)


def path_of(url):
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_get_shows_the_confirmation_and_never_acts(cast, client):
    url, link = issue(cast.plan_admin)
    response = client.get(path_of(url))
    assert response.status_code == 200
    assert b"Mark it" in response.content
    assert b'name="reason"' in response.content
    link.refresh_from_db()
    assert link.used_at is None
    assert CALLS == []
    opened = AuditEvent.objects.get(object_type="action_link", action="view")
    assert RECIPIENT in opened.reason


def test_post_acts_once_and_a_second_use_is_410(cast, client):
    url, link = issue(cast.plan_admin)
    response = client.post(path_of(url), {"reason": "no capacity"})
    assert response.status_code == 200
    assert b"Marked offer-17." in response.content
    assert [
        {"object_id": "offer-17", "data": {"reason": "no capacity"}, "link": link.pk}
    ] == CALLS
    link.refresh_from_db()
    assert link.used_at is not None
    assert link.result == "Marked offer-17."

    again = client.post(path_of(url), {"reason": "no capacity"})
    assert again.status_code == 410
    assert b"already been used" in again.content
    assert client.get(path_of(url)).status_code == 410
    assert len(CALLS) == 1


def test_use_is_audited_naming_the_recipient(cast, client):
    url, link = issue(cast.plan_admin)
    client.post(path_of(url), {"reason": "done"})
    event = AuditEvent.objects.get(object_type="action_link", action="update")
    assert event.object_id == str(link.uuid)
    assert RECIPIENT in event.reason
    assert ACTION in event.reason
    assert event.actor_id is None  # nobody signed in: the recipient is named
    created = AuditEvent.objects.get(object_type="action_link", action="create")
    assert created.actor_id == cast.plan_admin.pk


def test_expired_link_is_410_and_does_nothing(cast, client):
    url, link = issue(cast.plan_admin)
    ActionLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    for response in (
        client.get(path_of(url)),
        client.post(path_of(url), {"reason": "late"}),
    ):
        assert response.status_code == 410
        assert b"expired" in response.content
    assert CALLS == []
    link.refresh_from_db()
    assert link.used_at is None


def test_revoked_link_is_410(cast, client):
    url, link = issue(cast.plan_admin)
    assert action_link_revoke(link=link, actor=cast.plan_admin)
    response = client.post(path_of(url), {"reason": "x"})
    assert response.status_code == 410
    assert b"withdrawn" in response.content
    assert CALLS == []


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature
        lambda token: "0" * 32 + token[32:],  # another id, same signature
        lambda token: "not-a-token",
    ],
)
def test_tampered_token_is_404(cast, client, mangle):
    _, link = issue(cast.plan_admin)
    token = mangle(link_token(link))
    assert client.get(f"/links/{token}/").status_code == 404
    assert client.post(f"/links/{token}/", {"reason": "x"}).status_code == 404
    assert CALLS == []


def test_signed_token_for_an_unknown_link_is_404(cast, client):
    _, link = issue(cast.plan_admin)
    token = link_token(link)
    ActionLink.objects.filter(pk=link.pk).delete()
    assert client.get(f"/links/{token}/").status_code == 404


def test_invalid_form_is_400_and_leaves_the_link_usable(cast, client):
    url, link = issue(cast.plan_admin)
    response = client.post(path_of(url), {"reason": ""})
    assert response.status_code == 400
    link.refresh_from_db()
    assert link.used_at is None
    assert client.post(path_of(url), {"reason": "ok"}).status_code == 200


def test_handler_error_rolls_back_the_claim(cast, client):
    url, link = issue(cast.plan_admin)
    refused = client.post(path_of(url), {"reason": "refuse"})
    assert refused.status_code == 400
    assert b"already withdrawn" in refused.content
    conflict = client.post(path_of(url), {"reason": "conflict"})
    assert conflict.status_code == 409
    link.refresh_from_db()
    assert link.used_at is None
    assert not AuditEvent.objects.filter(object_type="test_effect").exists()


def test_create_refuses_bad_input_and_writes_nothing(cast):
    before = ActionLink.objects.count()
    with pytest.raises(LookupError):
        issue(cast.plan_admin, action="tests.unknown")
    with pytest.raises(ValidationError):
        action_link_create(
            action=ACTION, object_id="1", recipient_email="not-an-address",
            expires_in=timedelta(days=1), actor=cast.plan_admin,
        )  # fmt: skip
    for expires_in in (timedelta(0), timedelta(days=31), 3600):
        with pytest.raises(ValidationError):
            issue(cast.plan_admin, expires_in=expires_in)
    assert ActionLink.objects.count() == before
    assert not OutboxMessage.objects.filter(kind=EMAIL_KIND).exists()


def test_link_is_emailed_once_through_the_outbox_without_phi(
    cast, outbox_mail, settings
):
    settings.SITE_URL = "https://care.example"
    url, link = issue(cast.plan_admin, object_id=str(cast.member.pk))
    message = OutboxMessage.objects.get(kind=EMAIL_KIND)
    assert message.payload == {"link_id": link.pk}
    for _ in range(2):  # a redelivering broker
        outbox_deliver(message_id=message.pk)
    assert len(outbox_mail) == 1
    email = outbox_mail[0]
    assert email.to == [RECIPIENT]
    assert url in email.body
    assert url.startswith("https://care.example/links/")
    assert "Mark it" in email.body
    for phi in (cast.member.first_name, cast.member.last_name, cast.member.cin):
        assert phi not in email.body
        assert phi not in email.subject


def test_used_link_is_not_emailed(cast, outbox_mail):
    url, link = issue(cast.plan_admin)
    ActionLink.objects.filter(pk=link.pk).update(used_at=timezone.now())
    outbox_deliver(message_id=OutboxMessage.objects.get(kind=EMAIL_KIND).pk)
    assert outbox_mail == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_uses_at_once_one_wins():
    from tests.factories import OrganizationFactory, UserFactory

    actor = UserFactory(organization=OrganizationFactory(plan=True))
    url, link = issue(actor, action="tests.slow")
    path = path_of(url)
    results = []
    start = threading.Barrier(2)

    def use():
        try:
            start.wait()
            response = Client().post(path, {"sleep": "0.5"})
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == [200, 410]
    assert len(CALLS) == 1
    assert AuditEvent.objects.filter(object_type="test_effect").count() == 1
