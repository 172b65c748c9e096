"""One mail connection for a batch of e-mails.

`send_mail` opens a connection to the relay for every e-mail (connect, EHLO,
maybe STARTTLS and AUTH, QUIT). A worker that sends a batch (the outbox's
`deliver_many`) opens `shared_mail_connection()` around it: the first e-mail
opens the connection, the rest reuse it, and it is closed when the block ends.
After a failed send the connection is dropped, so the next e-mail (or its
retry) starts on a fresh one. Outside a block `mail_connection()` is None and
each e-mail has its own connection, as before.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.core.mail import get_connection


class _Shared:
    def __init__(self):
        self.backend = None

    def get(self):
        if self.backend is None:
            self.backend = get_connection()
            self.backend.open()
        return self.backend

    def drop(self):
        backend, self.backend = self.backend, None
        if backend is not None:
            with suppress(Exception):  # closing a broken connection may fail too
                backend.close()


_shared: ContextVar[_Shared | None] = ContextVar("calaim_mail", default=None)


@contextmanager
def shared_mail_connection() -> Iterator[None]:
    """Send the block's e-mails over one connection, opened on first use."""
    if _shared.get() is not None:
        yield
        return
    shared = _Shared()
    token = _shared.set(shared)
    try:
        yield
    finally:
        _shared.reset(token)
        shared.drop()


def mail_connection():
    """The block's open connection, or None outside `shared_mail_connection`."""
    shared = _shared.get()
    return shared.get() if shared is not None else None


def mail_connection_failed() -> None:
    """Forget the block's connection after a failed send (it may be broken)."""
    shared = _shared.get()
    if shared is not None:
        shared.drop()
