"""A real SMTP server on loopback for tests: accepts every e-mail, keeps them,
and counts connections. `hang_up_after` closes a connection after that many
e-mails (a relay that drops idle or busy connections)."""

import asyncio
import threading
from email import message_from_bytes


class SmtpSink:
    def __init__(self, hang_up_after: int | None = None):
        self.hang_up_after = hang_up_after
        self.connections = 0
        self.messages = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = None

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader, writer):
        self.connections += 1
        received = 0
        writer.write(b"220 test-sink ESMTP\r\n")
        data, in_data = [], False
        while line := await reader.readline():
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    self.messages.append(message_from_bytes(b"".join(data)))
                    data = []
                    received += 1
                    writer.write(b"250 OK queued\r\n")
                    await writer.drain()
                    if self.hang_up_after and received >= self.hang_up_after:
                        break
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-test-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                await writer.drain()
                break
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()
