"""Notifications: one per event and recipient, e-mails without PHI, the recipient's
own list, badge and actions."""

import pytest
from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from calaim.notifications.models import Notification
from calaim.notifications.services import (
    EMAIL_SUBJECT,
    notification_create,
    notification_send,
)
from calaim.outbox import tasks as outbox_tasks
from calaim.outbox.models import OutboxMessage, OutboxStatus
from calaim.outbox.services import outbox_deliver
from tests.support.smtp_sink import SmtpSink

LIST_QUERIES = 7
TITLE = "Hospital admission for a member on your caseload"


def deliver_all():
    """Run every pending outbox message twice, as a redelivering broker might."""
    for _ in range(2):
        for message_id in OutboxMessage.objects.values_list("pk", flat=True):
            outbox_deliver(message_id=message_id)


def send(cast, recipient, key="adt:1", **options):
    notification_send(
        recipient=recipient,
        kind="transition.admission",
        title=TITLE,
        link=f"/members/{cast.member.uuid}/",
        member_id=cast.member.pk,
        key=key,
        **options,
    )


def make(recipient, key, *, read=False):
    notification = notification_create(
        recipient_id=recipient.pk, kind="test", key=key, title=f"Title {key}"
    )
    if read:
        Notification.objects.filter(pk=notification.pk).update(
            read_at=notification.created_at
        )
    return notification


def test_send_creates_one_notification_and_one_email_per_event_and_recipient(
    cast, outbox_mail
):
    lead = cast.lead_care_manager
    send(cast, lead)
    send(cast, lead)  # the same event again (a duplicate ADT message)
    send(cast, cast.supervisor)

    deliver_all()

    assert Notification.objects.filter(recipient=lead, key="adt:1").count() == 1
    assert Notification.objects.filter(recipient=cast.supervisor).count() == 1
    assert sorted(m.to[0] for m in outbox_mail) == sorted(
        [lead.email, cast.supervisor.email]
    )
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {
        OutboxStatus.DELIVERED
    }
    notification = Notification.objects.get(recipient=lead)
    assert notification.member_id == cast.member.pk
    assert notification.title == TITLE
    assert notification.emailed_at is not None


def test_send_without_email_sends_none(cast, outbox_mail):
    send(cast, cast.lead_care_manager, email=False)
    deliver_all()

    assert Notification.objects.filter(recipient=cast.lead_care_manager).exists()
    assert outbox_mail == []


def test_outbox_payload_carries_no_member_identifiers(cast):
    send(cast, cast.lead_care_manager)

    payloads = " ".join(
        str(payload) for payload in OutboxMessage.objects.values_list("payload")
    )
    member = cast.member
    for identifier in (member.first_name, member.last_name, member.cin):
        assert identifier not in payloads
    assert member.birth_date.isoformat() not in payloads


def test_email_links_to_the_notification_without_phi(cast, outbox_mail, settings):
    settings.SITE_URL = "https://care.example.org"
    send(cast, cast.lead_care_manager)
    deliver_all()

    (email,) = outbox_mail
    text = f"{email.subject}\n{email.body}"
    member = cast.member
    assert email.subject == EMAIL_SUBJECT
    assert f"https://care.example.org/members/{member.uuid}/" in email.body
    assert "https://care.example.org/notifications/" in email.body
    for identifier in (
        member.first_name,
        member.last_name,
        member.cin,
        member.birth_date.isoformat(),
        member.birth_date.strftime("%m/%d/%Y"),
        member.birth_date.strftime("%Y%m%d"),
    ):
        assert identifier.lower() not in text.lower()


def test_email_is_skipped_for_a_recipient_without_an_address(cast, outbox_mail):
    cast.lead_care_manager.email = ""
    cast.lead_care_manager.save(update_fields=["email"])
    send(cast, cast.lead_care_manager)
    deliver_all()

    assert Notification.objects.filter(recipient=cast.lead_care_manager).exists()
    assert outbox_mail == []


def test_send_refuses_links_off_the_site(cast):
    from django.core.exceptions import ValidationError

    for link in ("https://evil.example/", "//evil.example/x"):
        with pytest.raises(ValidationError):
            notification_send(
                recipient=cast.lead_care_manager,
                kind="test",
                title="Hello",
                link=link,
                key=f"bad:{link}",
            )
    assert not OutboxMessage.objects.exists()


def test_page_lists_only_my_notifications_newest_first(
    client, cast, django_assert_num_queries
):
    lead = cast.lead_care_manager
    older = make(lead, "older", read=True)
    newer = make(lead, "newer")
    make(cast.colleague, "someone-else")
    client.force_login(lead)

    # session, user (with organization, roles and permissions), count and page of
    # notifications, and the idle-session stamp
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("notifications:list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Title someone-else" not in page
    assert page.index("Title newer") < page.index("Title older")
    unread_item = page[page.index(f"notification-{newer.public_id}") :]
    assert "Unread" in unread_item.split("</li>")[0]
    read_item = page[page.index(f"notification-{older.public_id}") :]
    assert "Unread" not in read_item.split("</li>")[0]


def test_list_query_count_does_not_grow_with_notifications(
    client, cast, django_assert_num_queries
):
    for number in range(30):
        make(cast.lead_care_manager, f"many-{number}")
    client.force_login(cast.lead_care_manager)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("notifications:list"))

    assert response.content.decode().count('class="list-group-item') == 25


def test_acknowledging_someone_elses_notification_is_404_and_changes_nothing(
    client, cast
):
    theirs = make(cast.lead_care_manager, "theirs")
    client.force_login(cast.colleague)

    for name in ("notifications:acknowledge", "notifications:read"):
        response = client.post(reverse(name, args=[theirs.public_id]))
        assert response.status_code == 404

    theirs.refresh_from_db()
    assert theirs.acknowledged_at is None
    assert theirs.read_at is None


def test_acknowledge_marks_read_and_is_audited(client, cast):
    notification = notification_create(
        recipient_id=cast.lead_care_manager.pk,
        kind="test",
        key="ack",
        title=TITLE,
        member_id=cast.member.pk,
    )
    client.force_login(cast.lead_care_manager)

    response = client.post(
        reverse("notifications:acknowledge", args=[notification.public_id]),
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "Acknowledged" in response.content.decode()
    notification.refresh_from_db()
    assert notification.acknowledged_at is not None
    assert notification.read_at is not None
    event = AuditEvent.objects.get(object_type="notification")
    assert event.action == "update"
    assert event.member_ids == [cast.member.pk]
    assert event.actor_id == cast.lead_care_manager.pk


def test_mark_read_without_htmx_redirects_to_the_list(client, cast):
    notification = make(cast.lead_care_manager, "read-me")
    client.force_login(cast.lead_care_manager)

    response = client.post(reverse("notifications:read", args=[notification.public_id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:list")
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert notification.acknowledged_at is None


def test_badge_counts_my_unread_notifications(client, cast, django_assert_num_queries):
    lead = cast.lead_care_manager
    make(lead, "unread-1")
    make(lead, "unread-2")
    make(lead, "read", read=True)
    make(cast.colleague, "not-mine")
    client.force_login(lead)

    # session, user, count: the badge skips the page shell
    with django_assert_num_queries(3):
        response = client.get(
            reverse("notifications:badge"), headers={"X-Calaim-Background": "1"}
        )

    html = response.content.decode()
    assert response.status_code == 200
    assert ">2<" in html
    assert "unread" in html
    assert "?shown=2" in html  # the next poll says what the page shows
    assert 'hx-trigger="every 30s"' in html


def test_badge_answers_no_content_while_the_count_is_unchanged(client, cast):
    make(cast.lead_care_manager, "unread")
    client.force_login(cast.lead_care_manager)
    url = reverse("notifications:badge")

    assert client.get(url + "?shown=1").status_code == 204
    assert client.get(url + "?shown=0").status_code == 200


def test_badge_when_signed_out_redirects_the_whole_page_for_htmx(client):
    response = client.get(
        reverse("notifications:badge"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tasks/"},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_navbar_badge_polls_as_a_background_request(client, cast):
    client.force_login(cast.lead_care_manager)

    page = client.get(reverse("notifications:list")).content.decode()

    assert f'hx-get="{reverse("notifications:badge")}"' in page
    assert 'hx-trigger="load, every 30s"' in page
    assert """hx-headers='{"X-Calaim-Background": "1"}'""" in page
    assert 'aria-live="polite"' in page


def _smtp(settings, sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


def _email_messages():
    return list(
        OutboxMessage.objects.filter(kind="notification.email").values_list(
            "pk", flat=True
        )
    )


def test_a_batch_of_emails_goes_over_one_smtp_connection(cast, settings):
    """deliver_many (the HL7 group's e-mails) sends over one connection to the
    relay instead of one per e-mail."""
    for number in range(3):
        send(cast, cast.lead_care_manager, key=f"adt:batch-{number}", at_once=True)
    with SmtpSink() as sink:
        _smtp(settings, sink)
        assert outbox_tasks.deliver_many(_email_messages()) == 3
    assert len(sink.messages) == 3
    assert sink.connections == 1
    assert {message["To"] for message in sink.messages} == {
        cast.lead_care_manager.email
    }


def test_a_dropped_smtp_connection_is_opened_again_for_the_next_email(cast, settings):
    for number in range(3):
        send(cast, cast.lead_care_manager, key=f"adt:drop-{number}", at_once=True)
    with SmtpSink(hang_up_after=1) as sink:
        _smtp(settings, sink)
        delivered = outbox_tasks.deliver_many(_email_messages())
        # The e-mail sent into the dropped connection fails and is retried later
        # (the outbox's back-off); the one after it opens a new connection.
        retried = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
        assert delivered == 2
        assert retried.count() == 1
        retried.update(available_at=timezone.now())
        assert outbox_tasks.deliver_many(list(retried.values_list("pk", flat=True)))
    assert len(sink.messages) == 3
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 3
