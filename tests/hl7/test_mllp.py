"""The MLLP listener: framing, many connections, order, limits, shutdown, TLS."""

import contextlib
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import hl7.client
import pytest

from care_plans.hl7.mllp import FrameReader
from care_plans.hl7.models import InboundMessage
from tests import factories
from tests.hl7.messages import adt
from tests.hl7.support import RunningServer, connect, framed, msa, read_acks

ROOT = Path(__file__).resolve().parents[2]


# --- Framing, without sockets --------------------------------------------------


def test_frames_several_per_packet():
    reader = FrameReader()
    frames = reader.feed(b"\x0bone\x1c\x0d\x0btwo\x1c\x0d\x0bthr")
    assert [f.data for f in frames] == [b"one", b"two"]
    assert reader.partial
    assert [f.data for f in reader.feed(b"ee\x1c\x0d")] == [b"three"]
    assert not reader.partial


def test_a_frame_split_byte_by_byte():
    reader = FrameReader()
    out = []
    for byte in b"junk\x0bMSH|x\x1c\x0d":
        out += reader.feed(bytes([byte]))
    assert [f.data for f in out] == [b"MSH|x"]


def test_garbage_outside_frames_is_discarded():
    reader = FrameReader()
    frames = reader.feed(b"\r\nGET / HTTP/1.1\r\n\x0bA\x1c\x0dtrailing\x0bB\x1c\x0d")
    assert [f.data for f in frames] == [b"A", b"B"]


def test_a_bare_end_byte_inside_a_frame_is_content():
    frames = FrameReader().feed(b"\x0bA\x1cB\x1c\x0d")
    assert [f.data for f in frames] == [b"A\x1cB"]


def test_a_new_start_inside_an_unfinished_frame_starts_over():
    frames = FrameReader().feed(b"\x0bunfinished\x0bB\x1c\x0d")
    assert [f.data for f in frames] == [b"B"]


def test_an_oversize_frame_is_reported_once_and_skipped():
    reader = FrameReader(max_frame=100)
    frames = reader.feed(b"\x0bMSH|" + b"x" * 150)
    assert len(frames) == 1
    assert frames[0].oversize
    assert frames[0].data.startswith(b"MSH|")
    assert reader.feed(b"y" * 500) == []
    frames = reader.feed(b"\x1c")
    assert frames == []
    frames = reader.feed(b"\x0d\x0bnext\x1c\x0d")
    assert [(f.data, f.oversize) for f in frames] == [(b"next", False)]


def test_an_oversize_frame_in_one_packet():
    frames = FrameReader(max_frame=10).feed(
        b"\x0b" + b"z" * 50 + b"\x1c\x0d\x0bok\x1c\x0d"
    )
    assert [(f.oversize, f.data[:2]) for f in frames] == [(True, b"zz"), (False, b"ok")]


# --- The server, against the database ------------------------------------------

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def sender():
    return factories.HL7SenderFactory(
        sending_facility="MERCY_BAY", allowed_addresses=["127.0.0.1"]
    )


@pytest.fixture
def server(sender):
    running = RunningServer(publish=False, idle_timeout=5)
    yield running
    running.stop()


@transactional
def test_python_hl7_client_gets_aa_and_the_message_is_stored(server):
    body = adt(control_id="M1")
    with hl7.client.MLLPClient("127.0.0.1", server.port) as client:
        ack = client.send_message(body)
    assert msa(ack.decode() if isinstance(ack, bytes) else ack)[1:3] == ["AA", "M1"]
    message = InboundMessage.objects.get()
    assert (message.channel, message.peer, message.status) == (
        "mllp",
        "127.0.0.1",
        "pending",
    )
    assert message.raw == body


@transactional
def test_frames_in_one_packet_and_split_frames_are_answered_in_order(server):
    bodies = [adt(control_id=f"O{n}") for n in range(6)]
    packet = b"noise" + b"".join(framed(b) for b in bodies[:3]) + framed(bodies[3])[:20]
    with connect(server.port) as sock:
        sock.sendall(packet)
        time.sleep(0.05)
        sock.sendall(framed(bodies[3])[20:] + framed(bodies[4])[:7])
        time.sleep(0.05)
        sock.sendall(framed(bodies[4])[7:] + framed(bodies[5]))
        acks = read_acks(sock, 6)
    assert [msa(a)[2] for a in acks] == [f"O{n}" for n in range(6)]
    assert {msa(a)[1] for a in acks} == {"AA"}
    assert InboundMessage.objects.count() == 6


@transactional
def test_many_concurrent_connections(server):
    results = {}

    def run(number):
        with connect(server.port) as sock:
            for index in range(5):
                sock.sendall(framed(adt(control_id=f"C{number}-{index}")))
                results[(number, index)] = msa(read_acks(sock, 1)[0])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 100
    assert all(fields[1] == "AA" for fields in results.values())
    assert all(
        fields[2] == f"C{number}-{index}" for (number, index), fields in results.items()
    )
    assert InboundMessage.objects.filter(status="pending").count() == 100


@transactional
def test_unreadable_and_oversize_frames_get_ar_and_the_connection_goes_on(sender):
    running = RunningServer(publish=False, max_frame=2000)
    try:
        with connect(running.port) as sock:
            sock.sendall(framed("not hl7 at all"))
            sock.sendall(framed(adt(control_id="BIG") + "NTE|" + "x" * 5000 + "\r"))
            sock.sendall(framed(adt(control_id="OK")))
            acks = read_acks(sock, 3)
    finally:
        running.stop()
    assert msa(acks[0])[1:3] == ["AR", ""]
    assert msa(acks[1])[1:3] == ["AR", "BIG"]
    assert "larger than allowed" in acks[1]
    assert msa(acks[2])[1:3] == ["AA", "OK"]
    assert list(InboundMessage.objects.values_list("control_id", flat=True)) == ["OK"]


@transactional
def test_an_address_not_allowed_gets_ar(sender, server):
    sender.allowed_addresses = ["10.0.0.0/8"]
    sender.save()
    server.server.handler.senders.ttl = 0
    with connect(server.port) as sock:
        sock.sendall(framed(adt(control_id="A1")))
        (ack,) = read_acks(sock, 1)
    assert msa(ack)[1] == "AR"
    assert InboundMessage.objects.get().status == "rejected"


@transactional
def test_a_client_disconnecting_mid_frame_leaves_nothing_half_written(server):
    with connect(server.port) as sock:
        sock.sendall(framed(adt(control_id="W1")) + framed(adt(control_id="W2"))[:30])
        (ack,) = read_acks(sock, 1)
    assert msa(ack)[2] == "W1"
    deadline = time.monotonic() + 5
    while server.connection_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.connection_count() == 0
    assert list(InboundMessage.objects.values_list("control_id", flat=True)) == ["W1"]


@transactional
def test_an_idle_connection_is_closed(sender):
    running = RunningServer(publish=False, idle_timeout=0.3)
    try:
        with connect(running.port) as sock:
            sock.sendall(b"\x0bMSH|^~")  # starts a frame, then nothing
            sock.settimeout(5)
            assert sock.recv(100) == b""  # closed by the server
    finally:
        running.stop()


@transactional
def test_shutdown_answers_what_it_is_storing_and_closes_connections(sender):
    running = RunningServer(publish=False)
    with connect(running.port) as idle, connect(running.port) as busy:
        busy.sendall(framed(adt(control_id="S1")))
        (ack,) = read_acks(busy, 1)
        assert msa(ack)[1] == "AA"
        running.stop()
        idle.settimeout(5)
        assert idle.recv(100) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", running.port), timeout=1)


@transactional
def test_tls(sender, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    from care_plans.hl7.mllp import tls_context

    running = RunningServer(publish=False, ssl_context=tls_context(str(cert), str(key)))
    try:
        client_context = ssl.create_default_context(cafile=str(cert))
        client_context.check_hostname = False
        with connect(running.port) as raw, client_context.wrap_socket(raw) as sock:
            sock.sendall(framed(adt(control_id="T1")))
            (ack,) = read_acks(sock, 1)
        with connect(running.port) as plain:
            plain.sendall(framed(adt(control_id="T2")))
            plain.settimeout(5)
            with contextlib.suppress(ConnectionResetError):
                assert plain.recv(100) == b""
    finally:
        running.stop()
    assert msa(ack)[1:3] == ["AA", "T1"]
    assert list(InboundMessage.objects.values_list("control_id", flat=True)) == ["T1"]


@transactional
def test_the_management_command_serves_and_stops_on_sigterm(sender):
    from tests.support.workers import Processes, database_url, free_port  # noqa: F401

    port = free_port()
    env = {
        **__import__("os").environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "calaim.test_settings",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "mllp_server", "--host", "127.0.0.1"]
        + ["--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        line = process.stdout.readline().decode()
        assert f"mllp://127.0.0.1:{port}" in line, line
        with hl7.client.MLLPClient("127.0.0.1", port) as client:
            ack = client.send_message(adt(control_id="CMD1"))
        assert msa(ack.decode() if isinstance(ack, bytes) else ack)[1] == "AA"
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "MLLP server stopped" in output
    assert InboundMessage.objects.get().control_id == "CMD1"


@transactional
def test_a_batch_with_duplicates_and_every_outcome(server):
    """Frames that share one batch (one packet): a duplicate inside the batch and
    one of an earlier message are AA and stored once; the rest as if alone."""
    with connect(server.port) as sock:
        sock.sendall(framed(adt(control_id="EARLIER")))
        read_acks(sock, 1)
        bodies = [
            adt(control_id="B1"),
            adt(control_id="B1"),
            adt(control_id="EARLIER"),
            adt(control_id="B2", trigger="A31"),
            adt(control_id="B3", facility="NOBODY"),
            adt(control_id="", trigger="A03"),
            "garbage",
        ]
        sock.sendall(b"".join(framed(body) for body in bodies))
        acks = read_acks(sock, len(bodies))
    assert [msa(ack)[1:3] for ack in acks] == [
        ["AA", "B1"],
        ["AA", "B1"],
        ["AA", "EARLIER"],
        ["AA", "B2"],
        ["AR", "B3"],
        ["AE", ""],
        ["AR", ""],
    ]
    rows = dict(InboundMessage.objects.values_list("control_id", "status"))
    assert InboundMessage.objects.filter(control_id="B1").count() == 1
    assert InboundMessage.objects.filter(control_id="EARLIER").count() == 1
    assert rows == {
        "EARLIER": "pending",
        "B1": "pending",
        "B2": "ignored",
        "B3": "rejected",
        "": "error",
    }
