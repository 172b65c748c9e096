"""The 834 import's reading side: the file parsed in a forked child process, in
batches, each valid record marked when it repeats its member's previous record
(members.services.enrollment_import runs the import)."""

import fcntl
import gc
import os
import pickle
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress

BATCH_SIZE = 2000
PIPE_SIZE = 1 << 20
# How many members' last content hashes the parser keeps in memory to spot a
# record repeated in the file (a CIN and 16 bytes of hash each, about 160 bytes
# with the dict's overhead: some 24 MB at most). Past that, records of members
# not yet met are checked against a table in the database.
REPEAT_MEMORY = 150_000


def _batches(path) -> Iterator[list]:
    from members.x12.edi834 import iter_member_records

    repeats = _RepeatMarker()
    batch = []
    for record in iter_member_records(path):
        repeats.mark(record)
        batch.append(record)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


class _RepeatMarker:
    """Marks each valid record with `repeat`: True when the member's previous
    valid record in the file had the same content, False when it is the
    member's first or differs from the previous one, None when that is not known
    here (a member first met past REPEAT_MEMORY members; the importer then asks
    its table of hashes). Only the previous record counts: an add, a
    termination and a reinstatement identical to the add are all applied, in
    order. Done where the file is parsed, next to the hashing, so the writer does
    not have to. Records with errors are rejected, never compared: they are
    neither marked nor remembered."""

    def __init__(self, limit: int | None = None):
        self.last: dict[str, bytes] = {}  # CIN -> its last record's hash
        self.limit = REPEAT_MEMORY if limit is None else limit

    def mark(self, record) -> None:
        if record.errors:
            return
        key = bytes.fromhex(record.content_hash[:32])
        last = self.last
        before = last.get(record.cin)
        if before is None and len(last) >= self.limit:
            record.repeat = None
            return
        record.repeat = before == key
        last[record.cin] = key


@contextmanager
def parsed_batches(path):
    """The file's records in batches, parsed in a forked child process while
    this one writes the previous batch: parsing is a quarter of an import's own
    work and the machine has a second core.

    The child only reads the file: it never touches the inherited database
    connection and leaves through os._exit, so nothing of ours is closed or
    flushed twice. The pipe holds a batch or two (PIPE_SIZE), so the child waits
    for the writer and memory stays flat. An error in the child is sent through
    the pipe and raised here; the child is always reaped.
    """
    if not hasattr(os, "fork"):
        yield _batches(path)
        return
    read_end, write_end = os.pipe()
    with suppress(AttributeError, OSError):  # Linux: room for a batch or so more
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    pid = os.fork()
    if pid == 0:  # the child
        # What the parser makes holds no reference cycles and the child lives
        # only as long as the file: the collector's passes over the batches it
        # builds (5 to 10% of its work) would find nothing to free.
        gc.disable()
        status = 0
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as out:
                _parse_into(path, out)
        except BaseException:  # noqa: BLE001 - reported through the pipe if it can
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    incoming = os.fdopen(read_end, "rb")
    try:
        yield _received(incoming)
    finally:
        incoming.close()
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # when we stopped early; done otherwise
        os.waitpid(pid, 0)


def _parse_into(path, out) -> None:
    try:
        for batch in _batches(path):
            states = []
            for record in batch:
                record.raw = ""  # the importer never reads it; a third of the bytes
                states.append(record.__dict__)  # half the pickling of the objects
            pickle.dump(("batch", states), out, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # noqa: BLE001 - raised again in the parent
        try:
            message = pickle.dumps(("error", error))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            message = pickle.dumps(("error", RuntimeError(repr(error))))
        out.write(message)
        return
    pickle.dump(("end", None), out)


def _received(incoming) -> Iterator[list]:
    from members.x12.edi834 import MemberRecord

    new_record = object.__new__
    while True:
        try:
            kind, value = pickle.load(incoming)  # noqa: S301 - our own child
        except EOFError:
            raise RuntimeError("the 834 parser process ended unexpectedly") from None
        if kind == "end":
            return
        if kind == "error":
            raise value
        batch = []
        for state in value:
            record = new_record(MemberRecord)
            record.__dict__ = state
            batch.append(record)
        yield batch
