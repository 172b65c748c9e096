"""An MLLP server running in a thread of the test process, and a raw client."""

import asyncio
import socket
import threading

from care_plans.hl7.mllp import END, START, MLLPServer


class RunningServer:
    """`MLLPServer` on its own event loop in a thread, on a free port.

    Its pool threads use their own database connections, so tests that use it are
    `django_db(transaction=True)`: they must see the committed rows (and commit).
    """

    def __init__(self, **options):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = MLLPServer(**options)
        started = asyncio.run_coroutine_threadsafe(
            self.server.start("127.0.0.1", 0), self.loop
        )
        self.port = started.result(10)[0][1]

    def stop(self, timeout=30):
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        self.loop.close()

    def connection_count(self) -> int:
        return len(self.server._connections)


def connect(port, timeout=10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def framed(message: str) -> bytes:
    return START + message.encode() + END


def read_acks(sock, count, *, timeout=10) -> list[str]:
    """Read `count` framed ACKs from `sock`."""
    sock.settimeout(timeout)
    buffer = b""
    acks = []
    while len(acks) < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(acks)} of {count} ACKs")
        buffer += chunk
        while END in buffer:
            frame, buffer = buffer.split(END, 1)
            # An ACK echoes the message's MSH in the message's own encoding,
            # which need not be UTF-8 (a Latin-1 sender): only MSA is read here.
            acks.append(frame[frame.index(START) + 1 :].decode("utf-8", "replace"))
    return acks


def msa(ack: str) -> list[str]:
    for segment in ack.strip("\r").split("\r"):
        fields = segment.split(segment[3] if segment.startswith("MSH") else "|")
        if fields[0] == "MSA":
            return fields
    raise AssertionError(f"no MSA in {ack!r}")
