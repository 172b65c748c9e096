"""Receiving HL7 v2 messages: every ACK code and sender rule, on both channels.

The HTTP channel is called as the cast's hospital feed (a real OAuth2 token);
the MLLP channel's decisions are the same service called with channel "mllp"
and a peer address (the listener itself is tested in test_mllp.py).
"""

import pytest
from django.urls import reverse

from calaim.audit.models import AuditEvent
from care_plans.hl7 import er7
from care_plans.hl7.models import InboundMessage
from care_plans.hl7.services import message_receive
from tests import factories
from tests.api_auth import authenticate_api_client
from tests.hl7.messages import ack_fields, adt

pytestmark = pytest.mark.django_db

URL = "/api/v1/hl7/adt"


@pytest.fixture
def sender(cast):
    return factories.HL7SenderFactory(
        organization=cast.hospital,
        plan=cast.plan,
        sending_facility="MERCY_BAY",
        allowed_addresses=["10.1.2.0/24", "192.0.2.7"],
    )


@pytest.fixture
def feed(cast, client):
    return authenticate_api_client(client, cast.hospital_feed)


def post(feed, body, content_type="application/hl7-v2"):
    if isinstance(body, str):
        body = body.encode()
    return feed.generic("POST", URL, body, content_type=content_type)


def mllp(body, peer="10.1.2.3"):
    return message_receive(data=body.encode(), channel="mllp", peer=peer)


def test_route_name():
    assert reverse("api_hl7_adt") == URL


def test_an_adt_message_is_stored_pending_and_acknowledged_aa(sender, feed):
    body = adt(control_id="C1")
    response = post(feed, body)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/hl7-v2")
    ack = ack_fields(response.content.decode())
    assert ack["MSA"][1:3] == ["AA", "C1"]
    assert "ERR" not in ack
    # Sender and receiver swapped; the ACK answers the trigger, in the version sent.
    assert ack["MSH"][2:6] == ["CALAIM", "PLAN", "EHR", "MERCY_BAY"]
    assert ack["MSH"][8] == "ACK^A01^ACK"
    assert ack["MSH"][11] == "2.5.1"
    message = InboundMessage.objects.get()
    assert message.status == "pending"
    assert message.ack_code == "AA"
    assert message.sender == sender
    assert (message.sending_facility, message.control_id) == ("MERCY_BAY", "C1")
    assert (message.message_type, message.trigger, message.version) == (
        "ADT",
        "A01",
        "2.5.1",
    )
    assert message.channel == "http"
    assert message.raw == body  # the \r separators intact
    assert message.member is None
    event = AuditEvent.objects.get(object_type="hl7_message")
    assert event.action == "create"
    assert event.object_id == str(message.uuid)


@pytest.mark.parametrize("content_type", ["text/plain", "x-application/hl7-v2+er7"])
def test_text_plain_is_accepted_too(sender, feed, content_type):
    response = post(feed, adt(), content_type=content_type)
    assert ack_fields(response.content.decode())["MSA"][1] == "AA"


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_other_line_ends_are_read_and_stored_as_sent(sender, feed, separator):
    body = adt(control_id="LF", separator=separator)
    response = post(feed, body)
    assert ack_fields(response.content.decode())["MSA"][1:3] == ["AA", "LF"]
    assert InboundMessage.objects.get().raw == body


def test_the_same_control_id_again_on_either_channel_is_aa_and_changes_nothing(
    sender, feed
):
    body = adt(control_id="DUP1")
    assert ack_fields(post(feed, body).content.decode())["MSA"][1] == "AA"
    again = post(feed, body)
    assert ack_fields(again.content.decode())["MSA"][1:3] == ["AA", "DUP1"]
    receipt = mllp(body)
    assert receipt.duplicate
    assert receipt.ack_code == "AA"
    assert ack_fields(receipt.ack)["MSA"][1:3] == ["AA", "DUP1"]
    assert InboundMessage.objects.count() == 1


def test_a_duplicate_of_an_ignored_message_is_also_a_duplicate(sender, feed):
    body = adt(control_id="IGN", trigger="A31")
    post(feed, body)
    post(feed, body)
    assert InboundMessage.objects.get().status == "ignored"


@pytest.mark.parametrize("trigger", ["A05", "A28", "A31", "A40", "A17", "Z99"])
def test_triggers_we_do_not_act_on_are_aa_and_stored_ignored(sender, feed, trigger):
    response = post(feed, adt(trigger=trigger))
    assert ack_fields(response.content.decode())["MSA"][1] == "AA"
    message = InboundMessage.objects.get()
    assert message.status == "ignored"
    assert message.processed_at is not None


@pytest.mark.parametrize(
    "trigger", ["A01", "A02", "A03", "A04", "A06", "A07", "A08", "A11", "A12", "A13"]
)
def test_triggers_we_act_on_are_stored_pending(sender, feed, trigger):
    post(feed, adt(trigger=trigger))
    assert InboundMessage.objects.get().status == "pending"


def test_an_unknown_sender_gets_ar_and_is_logged_rejected(sender, feed):
    response = post(feed, adt(facility="NOBODY", control_id="U1"))
    assert response.status_code == 200
    ack = ack_fields(response.content.decode())
    assert ack["MSA"][1:3] == ["AR", "U1"]
    assert ack["ERR"][3].startswith("204^")
    message = InboundMessage.objects.get()
    assert (message.status, message.ack_code, message.sender) == (
        "rejected",
        "AR",
        None,
    )
    assert message.sending_facility == "NOBODY"
    assert "Unknown sending facility" in message.error


def test_an_inactive_sender_gets_ar(sender, feed):
    sender.active = False
    sender.save()
    ack = ack_fields(post(feed, adt()).content.decode())
    assert ack["MSA"][1] == "AR"
    assert InboundMessage.objects.get().status == "rejected"


def test_another_organizations_client_may_not_send_as_the_sender(sender, cast, client):
    from calaim.accounts import roles
    from calaim.accounts.services import service_account_create

    other_hospital = factories.OrganizationFactory(hospital=True)
    other_feed = service_account_create(
        organization=other_hospital, role_name=roles.HOSPITAL_FEED, name="Other feed"
    )
    response = post(authenticate_api_client(client, other_feed), adt())
    ack = ack_fields(response.content.decode())
    assert ack["MSA"][1] == "AR"
    message = InboundMessage.objects.get()
    assert message.status == "rejected"
    assert message.sender == sender
    assert "calling organization" in message.error


@pytest.mark.parametrize("peer", ["10.1.2.3", "192.0.2.7", "::ffff:10.1.2.9"])
def test_mllp_from_an_allowed_address_is_accepted(sender, peer):
    if peer.startswith("::ffff:"):
        from care_plans.hl7.services import address_allowed

        # The listener turns IPv4-mapped peers into IPv4 before asking.
        assert not address_allowed(sender, peer)
        peer = peer.removeprefix("::ffff:")
    receipt = mllp(adt(), peer=peer)
    assert receipt.ack_code == "AA"
    assert receipt.message.channel == "mllp"
    assert receipt.message.peer == peer


@pytest.mark.parametrize("peer", ["10.1.3.1", "192.0.2.8", "", "not-an-address"])
def test_mllp_from_another_address_is_rejected(sender, peer):
    receipt = mllp(adt(control_id="P1"), peer=peer)
    assert receipt.ack_code == "AR"
    assert receipt.message.status == "rejected"
    assert ack_fields(receipt.ack)["MSA"][1:3] == ["AR", "P1"]


def test_a_sender_without_addresses_may_not_use_mllp(sender):
    sender.allowed_addresses = []
    sender.save()
    assert mllp(adt()).ack_code == "AR"


def test_a_type_other_than_adt_gets_ar(sender, feed):
    body = adt(message_type="ORU", trigger="R01", control_id="O1")
    ack = ack_fields(post(feed, body).content.decode())
    assert ack["MSA"][1:3] == ["AR", "O1"]
    assert ack["ERR"][3].startswith("200^")
    message = InboundMessage.objects.get()
    assert (message.status, message.message_type) == ("rejected", "ORU")


def test_a_missing_control_id_gets_ae_with_err(sender, feed):
    ack = ack_fields(post(feed, adt(control_id="")).content.decode())
    assert ack["MSA"][1:3] == ["AE", ""]
    assert ack["ERR"][3].startswith("101^")
    assert "MSH-10" in ack["ERR"][8]
    message = InboundMessage.objects.get()
    assert (message.status, message.ack_code) == ("error", "AE")


@pytest.mark.parametrize("version", ["2.2", "2.9", "3.0", "", "2.5.1.1", "v2.5"])
def test_a_version_outside_2_3_to_2_8_gets_ae(sender, feed, version):
    ack = ack_fields(post(feed, adt(version=version)).content.decode())
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][3].startswith("203^")
    assert InboundMessage.objects.get().status == "error"


@pytest.mark.parametrize(
    "version", ["2.3", "2.3.1", "2.4", "2.5", "2.6", "2.7.1", "2.8"]
)
def test_versions_2_3_to_2_8_are_accepted(sender, feed, version):
    ack = ack_fields(post(feed, adt(version=version)).content.decode())
    assert ack["MSA"][1] == "AA"
    assert ack["MSH"][11] == version


def test_a_rejected_message_does_not_block_a_later_accepted_copy(sender, feed):
    sender.active = False
    sender.save()
    body = adt(control_id="LATER")
    post(feed, body)
    sender.active = True
    sender.save()
    assert ack_fields(post(feed, body).content.decode())["MSA"][1] == "AA"
    assert sorted(InboundMessage.objects.values_list("status", flat=True)) == [
        "pending",
        "rejected",
    ]


@pytest.mark.parametrize(
    "body",
    [b"", b"hello", b"PID|1||x\rMSH|^~\\&|x", b"MSH", b"MSHA^~\\&|", b"MSH|ab|x"],
)
def test_no_readable_msh_is_400_and_nothing_is_stored(sender, feed, body):
    response = post(feed, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "no_msh"
    assert not InboundMessage.objects.exists()


def test_other_encoding_characters_are_answered_in_kind(sender, feed):
    body = adt(control_id="ENC", encoding="$%*#").replace("MSH|", "MSH|", 1)
    response = post(feed, body)
    ack = response.content.decode()
    assert ack.startswith("MSH|$%*#|")
    assert "ACK$A01$ACK" in ack
    assert ack_fields(ack)["MSA"][1:3] == ["AA", "ENC"]


def test_latin1_bytes_and_nul_are_stored_readably(sender, feed):
    body = adt(control_id="L1").replace("TESTPERSON", "TESTPÉRSON").encode("latin-1")
    body = body.replace(b"ALEX", b"AL\x00EX")
    assert ack_fields(post(feed, body).content.decode())["MSA"][1] == "AA"
    assert "TESTPÉRSON^AL\ufffdEX" in InboundMessage.objects.get().raw


def test_a_body_over_the_limit_is_413(sender, feed, settings):
    settings.HL7_MAX_MESSAGE_BYTES = 1000
    response = post(feed, adt() + "NTE|" + "x" * 2000 + "\r")
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "too_large"
    assert not InboundMessage.objects.exists()


def test_json_is_415(sender, feed):
    response = feed.post(URL, {"message": adt()}, content_type="application/json")
    assert response.status_code == 415
    assert not InboundMessage.objects.exists()


def test_a_provider_api_client_lacks_the_scope(sender, cast, client):
    response = post(authenticate_api_client(client, cast.provider_api), adt())
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_ack_builder_without_header_uses_default_separators():
    ack = er7.build_ack(None, "AR", error=er7.REQUIRED_FIELD_MISSING, text="x|y")
    fields = ack_fields(ack)
    assert fields["MSA"][1:3] == ["AR", ""]
    assert fields["ERR"][8] == "xy"
