"""The interface administrator's feed pages and the sender registry."""

import pytest
from django.urls import reverse

from calaim.audit.models import AuditEvent
from care_plans.hl7.models import HL7Sender
from tests import factories
from tests.hl7.messages import adt

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.interface_admin)
    return client


@pytest.fixture
def sender(cast):
    return factories.HL7SenderFactory(
        organization=cast.hospital, plan=cast.plan, sending_facility="MERCY_BAY"
    )


@pytest.fixture
def other_plans_sender(cast):
    return factories.HL7SenderFactory(
        plan=cast.other_plan, sending_facility="ELSEWHERE"
    )


def test_the_feed_counts_by_sender_and_status(admin_client, sender, other_plans_sender):
    factories.InboundMessageFactory.create_batch(3, sender=sender)
    factories.InboundMessageFactory(sender=sender, status="processed")
    factories.InboundMessageFactory(sender=other_plans_sender)
    response = admin_client.get(reverse("hl7_feed"))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row["sender"] == sender
    assert row["total"] == 4
    statuses = [value for value, _ in response.context["statuses"]]
    assert row["counts"][statuses.index("pending")] == 3
    assert row["counts"][statuses.index("processed")] == 1
    assert len(response.context["recent"]) == 4
    assert b"ELSEWHERE" not in response.content
    assert b"HL7 feed" in response.content  # the navigation link


def test_the_feed_filters(admin_client, sender):
    other = factories.HL7SenderFactory(
        plan=sender.plan, organization=sender.organization, sending_facility="SECOND"
    )
    factories.InboundMessageFactory(sender=sender, status="processed")
    factories.InboundMessageFactory(sender=sender, channel="http")
    factories.InboundMessageFactory(sender=other)
    url = reverse("hl7_feed")
    assert len(admin_client.get(url, {"status": "processed"}).context["recent"]) == 1
    assert len(admin_client.get(url, {"channel": "http"}).context["recent"]) == 1
    by_sender = admin_client.get(url, {"sender": str(other.uuid)}).context["recent"]
    assert [m.sender_id for m in by_sender] == [other.pk]
    # An unknown value is ignored, not an error.
    assert len(admin_client.get(url, {"status": "bogus"}).context["recent"]) == 3


def test_the_feed_never_loads_the_raw_text(admin_client, sender):
    factories.InboundMessageFactory(sender=sender)
    response = admin_client.get(reverse("hl7_feed"))
    (message,) = response.context["recent"]
    assert "raw" in message.get_deferred_fields()
    assert b"TESTPERSON" not in response.content


@pytest.mark.parametrize("view", ["hl7_feed", "hl7_refused", "hl7_senders"])
def test_list_pages_have_a_fixed_number_of_queries(
    admin_client, sender, django_assert_num_queries, view
):
    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse(view)).status_code == 200
        return len(queries)

    factories.InboundMessageFactory(sender=sender)
    factories.InboundMessageFactory(sender=sender, status="rejected", ack_code="AR")
    count()  # the first request of a session does its sign-in bookkeeping
    few = count()
    assert few <= 10
    for _ in range(3):
        more = factories.HL7SenderFactory(
            plan=sender.plan, organization=sender.organization
        )
        factories.InboundMessageFactory.create_batch(5, sender=more)
        factories.InboundMessageFactory.create_batch(
            5, sender=more, status="error", ack_code="AE"
        )
        factories.InboundMessageFactory(
            sender=None, sending_facility="STRANGER", status="rejected", ack_code="AR"
        )
    with django_assert_num_queries(few):
        admin_client.get(reverse(view))


def test_the_raw_viewer_shows_the_segments_and_is_audited(admin_client, sender, cast):
    message = factories.InboundMessageFactory(sender=sender, member=cast.member)
    response = admin_client.get(reverse("hl7_message", args=[message.uuid]))
    assert response.status_code == 200
    assert "PID|1||91234567A^^^DHCS^MA||TESTPERSON^ALEX" in response.content.decode()
    event = AuditEvent.objects.get(object_type="hl7_message")
    assert event.action == "view"
    assert event.object_id == str(message.uuid)
    assert event.member_ids == [cast.member.pk]
    assert event.actor_id == cast.interface_admin.pk


def test_another_plans_message_is_404_and_not_audited_as_seen(
    admin_client, other_plans_sender
):
    message = factories.InboundMessageFactory(sender=other_plans_sender)
    response = admin_client.get(reverse("hl7_message", args=[message.uuid]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(object_type="hl7_message").exists()


def test_an_unknown_senders_message_has_no_raw_view(admin_client, sender):
    stranger = factories.InboundMessageFactory(
        sender=None,
        sending_facility="STRANGER",
        status="rejected",
        ack_code="AR",
        error="Unknown sending facility (MSH-4).",
    )
    response = admin_client.get(reverse("hl7_refused"))
    assert response.status_code == 200
    assert [m.pk for m in response.context["rows"]] == [stranger.pk]
    content = response.content.decode()
    assert "STRANGER" in content
    assert "Unknown sending facility" in content
    assert reverse("hl7_message", args=[stranger.uuid]) not in content
    detail = admin_client.get(reverse("hl7_message", args=[stranger.uuid]))
    assert detail.status_code == 404


def test_the_refused_log_holds_ar_and_ae_of_the_plan_only(
    admin_client, sender, other_plans_sender
):
    mine = factories.InboundMessageFactory(sender=sender, status="error", ack_code="AE")
    factories.InboundMessageFactory(sender=sender)  # accepted
    factories.InboundMessageFactory(
        sender=other_plans_sender, status="rejected", ack_code="AR"
    )
    rows = admin_client.get(reverse("hl7_refused")).context["rows"]
    assert [m.pk for m in rows] == [mine.pk]


def _form(cast, **changes):
    data = {
        "organization": str(cast.hospital.uuid),
        "sending_facility": "NEW_FACILITY",
        "allowed_addresses": "10.0.0.0/24\n192.0.2.9",
        "cin_assigning_authorities": "DHCS, CA-MEDI-CAL",
        "active": "on",
    }
    data.update(changes)
    return data


def test_registering_a_sender(admin_client, cast):
    response = admin_client.post(reverse("hl7_sender_create"), _form(cast))
    assert response.status_code == 302
    sender = HL7Sender.objects.get()
    assert sender.plan == cast.plan
    assert sender.organization == cast.hospital
    assert sender.allowed_addresses == ["10.0.0.0/24", "192.0.2.9"]
    assert sender.cin_assigning_authorities == ["DHCS", "CA-MEDI-CAL"]
    assert sender.active
    event = AuditEvent.objects.get(object_type="hl7_sender")
    assert (event.action, event.object_id) == ("create", str(sender.uuid))
    listing = admin_client.get(reverse("hl7_senders"))
    assert b"NEW_FACILITY" in listing.content


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"allowed_addresses": "10.0.0.300"}, "allowed_addresses"),
        ({"sending_facility": "A^B"}, "sending_facility"),
        ({"sending_facility": ""}, "sending_facility"),
        ({"organization": "not-a-uuid"}, "organization"),
    ],
)
def test_bad_sender_input_is_400_and_nothing_written(
    admin_client, cast, changes, field
):
    response = admin_client.post(reverse("hl7_sender_create"), _form(cast, **changes))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not HL7Sender.objects.exists()


def test_a_non_hospital_cannot_be_a_sender(admin_client, cast):
    data = _form(cast, organization=str(cast.ecm_provider.uuid))
    response = admin_client.post(reverse("hl7_sender_create"), data)
    assert response.status_code == 400
    assert not HL7Sender.objects.exists()


def test_a_facility_id_is_registered_once(admin_client, cast, other_plans_sender):
    data = _form(cast, sending_facility="ELSEWHERE")
    response = admin_client.post(reverse("hl7_sender_create"), data)
    assert response.status_code == 400
    assert "already registered" in response.content.decode()
    assert HL7Sender.objects.count() == 1


def test_editing_a_sender(admin_client, cast, sender):
    url = reverse("hl7_sender_edit", args=[sender.uuid])
    form = admin_client.get(url)
    assert form.status_code == 200
    assert b"MERCY_BAY" in form.content
    response = admin_client.post(
        url, _form(cast, sending_facility="MERCY_BAY", allowed_addresses="", active="")
    )
    assert response.status_code == 302
    sender.refresh_from_db()
    assert sender.allowed_addresses == []
    assert not sender.active


def test_another_plans_sender_cannot_be_edited(admin_client, cast, other_plans_sender):
    url = reverse("hl7_sender_edit", args=[other_plans_sender.uuid])
    assert admin_client.get(url).status_code == 404
    response = admin_client.post(url, _form(cast, sending_facility="ELSEWHERE"))
    assert response.status_code == 404
    other_plans_sender.refresh_from_db()
    assert other_plans_sender.plan == cast.other_plan


def test_a_received_message_shows_up_end_to_end(admin_client, cast, sender):
    from care_plans.hl7.services import message_receive

    sender.allowed_addresses = ["127.0.0.1"]
    sender.save()
    message_receive(data=adt(control_id="E2E"), channel="mllp", peer="127.0.0.1")
    message_receive(data=adt(facility="NOPE"), channel="mllp", peer="127.0.0.1")
    feed = admin_client.get(reverse("hl7_feed")).content.decode()
    assert "E2E" in feed
    refused = admin_client.get(reverse("hl7_refused")).content.decode()
    assert "NOPE" in refused
