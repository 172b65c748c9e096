"""Generated bad input on both channels (hypothesis, bounded: 200 examples each).

Truncated segments, odd separators and encoding characters, huge fields, binary
bytes, missing MSH, line ends of every kind, frames split anywhere and merged,
junk between frames, a client that hangs up mid-frame. Whatever arrives: no
exception, no 5xx, no hung connection, one answer per complete frame, and every
stored message is exactly a message that was sent (nothing half-written).
"""

import socket
import time

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from care_plans.hl7.er7 import decode
from care_plans.hl7.mllp import END, START
from care_plans.hl7.models import HL7Sender, InboundMessage
from tests import factories
from tests.api_auth import authenticate_api_client
from tests.hl7.support import RunningServer, connect, read_acks

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
SEGMENTS = ["EVN", "PID", "PV1", "PV2", "DG1", "IN1", "NK1", "OBX", "ZZZ"]
FIELD = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x0b\x1c"),
    max_size=20,
)


@st.composite
def messages(draw) -> bytes:
    separator = draw(st.sampled_from(["|", "|", "|", "#", "a", " ", "\t", "é"]))
    encoding = draw(
        st.sampled_from(
            ["^~\\&", "^~\\&", "^~\\&#", "$%*#", "^~", "", "^^^^", "|^~\\", "^~\\&\x00"]
        )
    )
    facility = draw(
        st.sampled_from(["FUZZ_FACILITY", "FUZZ_FACILITY^1.2^ISO", "X", ""])
    )
    message_type = draw(
        st.sampled_from(
            ["ADT^A01", "ADT^A03", "ADT^A31", "ORU^R01", "ADT", "", "adt^a08"]
        )
    )
    control_id = draw(
        st.one_of(
            st.just(""),
            st.text(alphabet="ABC0123456789", min_size=1, max_size=12),
            st.just("C" * 300),
        )
    )
    version = draw(st.sampled_from(["2.5.1", "2.3", "2.9", "", "2.8.2", "2.5^x"]))
    msh = separator.join(
        ["MSH", encoding, "EHR", facility, "CALAIM", "PLAN", "20261130", ""]
        + [message_type, control_id, "P", version]
    )
    segments = [msh] + [
        separator.join([name, *draw(st.lists(FIELD, max_size=6))])
        for name in draw(st.lists(st.sampled_from(SEGMENTS), max_size=5))
    ]
    if draw(st.integers(0, 9)) == 0:
        segments.append("NTE|1||" + "x" * draw(st.integers(1_000, 300_000)))
    data = draw(st.sampled_from(["\r", "\n", "\r\n"])).join(segments).encode()
    mutation = draw(st.sampled_from(["none", "truncate", "binary", "prefix", "drop"]))
    if mutation == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif mutation == "binary":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=40)) + data[at:]
    elif mutation == "prefix":
        data = draw(st.binary(max_size=12)) + data
    elif mutation == "drop":
        data = data[3:]  # no MSH at all
    return data


def _answered(ack: str) -> str:
    """The MSA-1 code of an ACK (which must have MSH and MSA)."""
    assert ack.startswith("MSH"), ack[:50]
    separator = ack[3]
    segments = [s.split(separator) for s in ack.strip("\r").split("\r")]
    (msa,) = [fields for fields in segments if fields[0] == "MSA"]
    assert msa[1] in {"AA", "AE", "AR"}
    return msa[1]


# --- HTTPS -----------------------------------------------------------------------


@pytest.mark.django_db
@FUZZ
@given(body=messages())
def test_fuzz_http(body, cast, client):
    HL7Sender.objects.get_or_create(
        sending_facility="FUZZ_FACILITY",
        defaults={"organization": cast.hospital, "plan": cast.plan},
    )
    feed = authenticate_api_client(client, cast.hospital_feed)
    before = InboundMessage.objects.count()
    latest = InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    response = feed.generic(
        "POST", reverse("api_hl7_adt"), body, content_type="application/hl7-v2"
    )
    assert response.status_code in {200, 400, 413}
    after = InboundMessage.objects.count()
    if response.status_code == 200:
        _answered(response.content.decode())
        assert after - before in {0, 1}
    else:
        assert response.json()["errors"][0]["code"] in {"no_msh", "too_large"}
        assert after == before
    for message in InboundMessage.objects.filter(pk__gt=latest or 0):
        assert message.raw == decode(body)[0]  # stored whole, or not at all


# --- MLLP ------------------------------------------------------------------------

CLEAN = bytes.maketrans(b"\x0b\x1c", b"  ")
MAX_FRAME = 200_000


@st.composite
def sessions(draw):
    bodies = [
        m.translate(CLEAN) for m in draw(st.lists(messages(), min_size=1, max_size=4))
    ]
    junk = st.binary(max_size=8).map(lambda b: b.replace(b"\x0b", b""))
    stream = b"".join(draw(junk) + START + body + END for body in bodies)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    chunks = [
        stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)
    ]
    hang_up = draw(st.one_of(st.none(), messages().map(lambda m: START + m[:50])))
    return bodies, [c for c in chunks if c], hang_up


@pytest.fixture
def fuzz_server(transactional_db):
    factories.HL7SenderFactory(
        sending_facility="FUZZ_FACILITY", allowed_addresses=["127.0.0.1"]
    )
    running = RunningServer(publish=False, max_frame=MAX_FRAME, idle_timeout=10)
    yield running
    running.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@FUZZ
@given(session=sessions())
def test_fuzz_mllp(session, fuzz_server):
    bodies, chunks, hang_up = session
    latest = InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    with connect(fuzz_server.port) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
        acks = read_acks(sock, len(bodies), timeout=20)  # raises if one is missing
        if hang_up is not None:
            sock.sendall(hang_up)
    for ack, body in zip(acks, bodies, strict=True):
        code = _answered(ack)
        if len(body) > MAX_FRAME:
            assert code == "AR"
    sent = {decode(body)[0] for body in bodies}
    for message in InboundMessage.objects.filter(pk__gt=latest or 0):
        assert message.raw in sent  # whole messages only
    # The server let go of the connection (no hung handler).
    deadline = time.monotonic() + 5
    while fuzz_server.connection_count() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fuzz_server.connection_count() == 0
    with connect(fuzz_server.port) as probe:  # and still answers
        probe.sendall(START + b"nonsense" + END)
        assert _answered(read_acks(probe, 1)[0]) == "AR"
        probe.shutdown(socket.SHUT_WR)
