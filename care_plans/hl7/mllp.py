"""The MLLP listener: HL7 v2 over TCP (or TLS), one ACK per message, in order.

MLLP frames a message as 0x0B <message> 0x1C 0x0D. A packet may carry several
frames, a frame may arrive in many packets, and bytes outside a frame are
discarded. Each connection is read by one coroutine, which queues its frames;
batch writers store what is queued (one INSERT and one commit per batch,
`services.messages_receive`) in a thread pool, each thread with its own database
connection, so the event loop only moves bytes and many messages share one disk
flush. A connection's frames are answered in the order they came, each only
after its batch committed; connections run concurrently.

    python manage.py mllp_server --host 0.0.0.0 --port 2575 [--tls-cert --tls-key]
"""

import asyncio
import contextlib
import ipaddress
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection
from django.db.utils import DatabaseError, InterfaceError, OperationalError

from care_plans.hl7 import er7, services
from care_plans.hl7.models import AckCode, Channel

logger = logging.getLogger(__name__)

START = b"\x0b"
END = b"\x1c\x0d"
DEFAULT_MAX_FRAME = 1024 * 1024
READ_SIZE = 64 * 1024
# A batch's messages go into one INSERT: bound its size as well as its length.
MAX_BATCH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Frame:
    """A complete message (`data`), or the start of one that was too long."""

    data: bytes
    oversize: bool = False


class FrameReader:
    """Cuts a byte stream into MLLP frames; no I/O, so it is tested on its own.

    `feed(bytes)` returns the frames completed by those bytes. Bytes before a
    start block are discarded; a second start block inside a frame starts over (the
    first frame was never finished, so it gets no answer). A frame longer than
    `max_frame` is returned once, cut to its first bytes and marked oversize, and
    the rest of it is skipped up to its end block.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME):
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._inside = False
        self._skipping = False

    @property
    def partial(self) -> bool:
        """Whether a frame has started and not ended."""
        return self._inside or self._skipping

    def feed(self, data: bytes) -> list[Frame]:
        frames = []
        self._buffer += data
        while self._buffer:
            if self._skipping:
                end = self._buffer.find(END)
                if end < 0:
                    # Keep a trailing 0x1C: its 0x0D may be in the next packet.
                    del self._buffer[: max(len(self._buffer) - 1, 0)]
                    break
                del self._buffer[: end + len(END)]
                self._skipping = False
                continue
            if not self._inside:
                start = self._buffer.find(START)
                if start < 0:
                    self._buffer.clear()
                    break
                del self._buffer[: start + 1]
                self._inside = True
                continue
            end = self._buffer.find(END)
            restart = self._buffer.find(START)
            if restart >= 0 and (end < 0 or restart < end):
                del self._buffer[:restart]  # an unfinished frame: start over
                self._inside = False
                continue
            if end < 0:
                if len(self._buffer) > self.max_frame:
                    frames.append(Frame(bytes(self._buffer[:8192]), oversize=True))
                    self._inside = False
                    self._skipping = True
                    del self._buffer[: len(self._buffer) - 1]
                break
            if end > self.max_frame:
                frames.append(Frame(bytes(self._buffer[:8192]), oversize=True))
            else:
                frames.append(Frame(bytes(self._buffer[:end])))
            del self._buffer[: end + len(END)]
            self._inside = False
        return frames


def frame(message: str, codec: str = "utf-8") -> bytes:
    """An MLLP frame around `message`."""
    return START + message.encode(codec or "utf-8", errors="replace") + END


def peer_address(writer) -> str:
    """The client's IP address as text (an IPv4-mapped IPv6 one as IPv4)."""
    peer = writer.get_extra_info("peername")
    host = peer[0] if isinstance(peer, tuple) and peer else ""
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        if getattr(address, "ipv4_mapped", None):
            return str(address.ipv4_mapped)
    return host


class Intake:
    """Stores a batch of frames and returns their ACK bytes; runs in a pool thread.

    Never raises: a frame without MSH, a frame too long and a database that is
    away all get an AR (in the last case nothing is stored, and the sender sends
    again, as MLLP senders do on AR or on no answer). A batch that fails for one
    bad row is stored message by message, so only that message is refused.
    """

    def __init__(self, sender_ttl: float = 5.0):
        self.senders = services.SenderCache(ttl=sender_ttl)

    def __call__(
        self, batch: list[tuple[Frame, str]]
    ) -> list[tuple[bytes, int | None]]:
        results: list[tuple[bytes, int | None] | None] = [None] * len(batch)
        texts = []
        for index, (item, peer) in enumerate(batch):
            text, codec = er7.decode(item.data)
            if item.oversize:
                results[index] = self._reject(
                    text, codec, "The message is larger than allowed."
                )
            else:
                texts.append((index, text, codec, peer))
        stored = self._store([(text, peer) for _, text, _, peer in texts])
        if stored is None and len(texts) > 1:
            stored = []
            for _, text, _, peer in texts:
                one = self._store([(text, peer)])
                stored.append(one[0] if one else None)
        for position, (index, text, codec, _peer) in enumerate(texts):
            receipt = stored[position] if stored else None
            if receipt is None:
                results[index] = self._reject(
                    text, codec, "The message could not be stored."
                )
            else:
                results[index] = (frame(receipt.ack, codec), receipt.publish_id)
        return results

    def _store(self, items):
        """The batch's receipts, or None when the database refused the batch."""
        if not items:
            return []
        for attempt in (1, 2):
            try:
                return services.messages_receive(
                    items, channel=Channel.MLLP, senders=self.senders
                )
            except (OperationalError, InterfaceError) as error:
                # A dropped database connection: reconnect once, then give up.
                connection.close()
                if attempt == 2:
                    logger.warning("mllp: database unavailable (%s)", type(error))
            except DatabaseError as error:
                logger.warning("mllp: a batch could not be stored (%s)", type(error))
                connection.close()
                return None
        return None

    @staticmethod
    def _reject(text, codec, reason) -> tuple[bytes, None]:
        return _reject_text(text, codec, reason)


def _reject_text(text, codec, reason) -> tuple[bytes, None]:
    try:
        header = er7.read_header(text)
    except er7.NoHeader:
        header = None
    ack = er7.build_ack(header, AckCode.REJECT, error=er7.INTERNAL_ERROR, text=reason)
    return frame(ack, codec), None


def reject_frame(item: Frame, reason: str) -> tuple[bytes, None]:
    """An AR for a frame, with its MSH when it has one; nothing is stored."""
    return _reject_text(*er7.decode(item.data), reason)


class Publisher:
    """Hands stored messages to Celery from one thread, after their ACK was sent.

    What queues up within `linger` seconds goes out as one task (up to `group`
    ids), so under load the broker costs little per message. The
    ACK never waits for the broker; when the broker is away the service's back-off
    makes each publish return at once and the sweep runs the messages.
    """

    def __init__(
        self,
        publish: Callable[[list[int]], object] | None = None,
        # A group is processed in one transaction and its alerts go out after its
        # commit: small enough that the last message's alert does not wait long.
        group: int = 20,
        linger: float = 0.05,
    ):
        self._publish = publish or (
            lambda message_ids: services.messages_publish(message_ids=message_ids)
        )
        self.group = group
        self.linger = linger
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mllp-publish")
        self._thread.daemon = True
        self._thread.start()

    def put(self, message_id: int) -> None:
        self._queue.put(message_id)

    def _run(self):
        running = True
        while running:
            message_ids = [self._queue.get()]
            # Wait a moment for more: a few milliseconds on the way to the worker
            # against a broker round trip per message on the listener's CPU.
            until = time.monotonic() + self.linger
            while len(message_ids) < self.group:
                try:
                    message_ids.append(
                        self._queue.get(timeout=max(until - time.monotonic(), 0))
                    )
                except queue.Empty:
                    break
            if None in message_ids:
                running = False
                message_ids = [pk for pk in message_ids if pk is not None]
            if not message_ids:
                continue
            try:
                self._publish(message_ids)
            except Exception:  # never let the publisher thread die
                logger.exception(
                    "mllp: publishing %s messages failed", len(message_ids)
                )
        connection.close()

    def stop(self, timeout: float = 10) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


class MLLPServer:
    """The asyncio listener.

    `handler([(frame, peer), ...]) -> [(ack bytes, id to publish or None), ...]`
    stores a batch; `threads` batches are written at a time.
    """

    def __init__(
        self,
        *,
        handler: Callable | None = None,
        publish: Callable[[list[int]], object] | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        idle_timeout: float = 300.0,
        threads: int = 8,
        ssl_context: ssl.SSLContext | None = None,
        shutdown_grace: float = 10.0,
        max_batch: int = 200,
    ):
        self.handler = handler or Intake()
        self.publisher = Publisher(publish) if publish is not False else None
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self.ssl_context = ssl_context
        self.shutdown_grace = shutdown_grace
        self.threads = threads
        self.max_batch = max_batch
        self.pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="mllp-db"
        )
        self._queue: asyncio.Queue | None = None
        self._writers: list[asyncio.Task] = []
        self._server: asyncio.base_events.Server | None = None
        self._connections: dict[asyncio.Task, dict] = {}
        self._stopping = False

    async def start(self, host: str, port: int) -> list[tuple]:
        self._queue = asyncio.Queue()
        self._writers = [
            asyncio.create_task(self._write_batches()) for _ in range(self.threads)
        ]
        self._server = await asyncio.start_server(
            self._serve_connection,
            host,
            port,
            ssl=self.ssl_context,
            limit=READ_SIZE,
            reuse_address=True,
        )
        return [sock.getsockname() for sock in self._server.sockets]

    async def _write_batches(self):
        """Store what the connections queued, a batch at a time, in a pool thread.

        Whatever arrived while the previous batch was written goes into the next
        one: under load many messages share a commit, and an idle listener still
        answers a lone message at once.
        """
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0].data)
            while (
                len(batch) < self.max_batch
                and size < MAX_BATCH_BYTES
                and not self._queue.empty()
            ):
                batch.append(self._queue.get_nowait())
                size += len(batch[-1][0].data)
            try:
                results = await loop.run_in_executor(
                    self.pool, self.handler, [(item, peer) for item, peer, _ in batch]
                )
            except Exception:  # the handler should never raise: answer AR anyway
                logger.exception("mllp: a batch failed")
                results = [
                    reject_frame(item, "The message could not be stored.")
                    for item, _, _ in batch
                ]
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def _submit(self, item: Frame, peer: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, peer, future))
        return future

    async def _serve_connection(self, reader, writer):
        task = asyncio.current_task()
        state = {"busy": False}
        self._connections[task] = state
        peer = peer_address(writer)
        frames = FrameReader(self.max_frame)
        try:
            while not self._stopping:
                try:
                    data = await asyncio.wait_for(
                        reader.read(READ_SIZE), self.idle_timeout
                    )
                except TimeoutError:
                    break  # idle: the sender reconnects when it has more
                if not data:
                    break
                items = frames.feed(data)
                if not items:
                    continue
                state["busy"] = True
                futures = [self._submit(item, peer) for item in items]
                for future in futures:
                    ack, message_id = await future
                    writer.write(ack)
                    if message_id is not None and self.publisher is not None:
                        self.publisher.put(message_id)
                # A client that does not read its ACKs is dropped, not waited for.
                await asyncio.wait_for(writer.drain(), self.idle_timeout)
                state["busy"] = False
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            ssl.SSLError,
            TimeoutError,
        ):
            pass  # the client went away; what was stored stays stored
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)

    async def stop(self) -> None:
        """Stop accepting, let each connection finish the frames it is storing
        (and send their ACKs), close every connection, then the pool."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for task, state in list(self._connections.items()):
            if not state["busy"]:
                task.cancel()
        pending = list(self._connections)
        if pending:
            _done, still = await asyncio.wait(pending, timeout=self.shutdown_grace)
            for task in still:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        for task in self._writers:
            task.cancel()
        await asyncio.gather(*self._writers, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._close_pool)

    def _close_pool(self):
        # Each pool thread holds its own database connection: close them in their
        # threads (a barrier makes every thread take one closing task).
        threads = len(self.pool._threads)
        if threads:
            barrier = threading.Barrier(threads)

            def close_connection():
                connection.close()
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=5)

            for _ in range(threads):
                self.pool.submit(close_connection)
        self.pool.shutdown(wait=True)
        if self.publisher is not None:
            self.publisher.stop()


def tls_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2+); with `client_ca`, clients need a cert."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
