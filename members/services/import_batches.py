"""How the 834 import's batches flow: one after another on the import's
connection, or pipelined over writer connections (Pipeline), with the outcome of
each (members.services.enrollment_import runs the import; import_records applies
the records)."""

import queue
import threading
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import F

from members.models import EnrollmentFile


@dataclass
class Outcome:
    added: int = 0
    changed: int = 0
    terminated: int = 0
    reinstated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    touched: set = field(default_factory=set)  # members changed
    seen: set = field(default_factory=set)  # members resolved or written

    def add(self, other: "Outcome") -> None:
        for name in ("added", "changed", "terminated", "reinstated", "unchanged",
                     "rejected", "duplicates"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Screened:
    """A batch with the records that have errors and the repeats set aside."""

    valid: list = field(default_factory=list)
    issues: list = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)


@dataclass
class Prepared:
    """A batch applied in memory, ready to write (Importer.prepare)."""

    outcome: Outcome = field(default_factory=Outcome)
    issues: list = field(default_factory=list)  # records rejected in memory
    touched: list = field(default_factory=list)  # the members it changes
    changes: tuple | None = None  # what Importer._write takes; None: nothing
    seen: set = field(default_factory=set)  # ids of the members it resolved
    # What it read, for Pipeline: every CIN it looked up or moves a member
    # from, and the members it loaded.
    cins: set = field(default_factory=set)
    member_ids: set = field(default_factory=set)


def cins_of(records) -> set[str]:
    """The CINs the records name: their own and their prior ones (REF*Q4)."""
    cins = {record.cin for record in records}
    for record in records:
        if record.prior_ids:
            cins.update(record.prior_ids)
    return cins


def done_count(outcome: Outcome) -> int:
    return (outcome.added + outcome.changed + outcome.terminated
            + outcome.reinstated + outcome.unchanged + outcome.rejected
            + outcome.duplicates)  # fmt: skip


def record_progress(enrollment_file, done: int) -> None:
    EnrollmentFile.objects.filter(pk=enrollment_file.pk).update(records_done=done)


def import_in_turn(importer, batches, progress) -> Outcome:
    total = Outcome()
    for batch in batches:
        # One transaction per batch: its records, its issues, its audit event
        # and the progress they make land together, with one commit (and one
        # WAL flush) instead of four.
        with transaction.atomic():
            total.add(importer.apply(batch))
            record_progress(importer.file, done_count(total))
        if progress is not None:
            progress(done_count(total), importer.file.records_total)
    return total


class Pipeline:
    """Writes batches on other connections, each in a thread of its own, while
    this one reads and applies the next batch in memory.

    The database spends longer on a batch's writes (its indexes, the exclusion
    constraint, the foreign-key checks at the end of the batch) than this
    process spends preparing it; done in turn, each waited for the other and
    half the machine sat idle. Now this process prepares batch N+2 while the
    database writes batches N and N+1 on two connections (IMPORT_834_WRITERS),
    one core each.

    The batches being written are not committed yet, so the batch being
    prepared must not read what they write, nor may two of them write the same
    rows. A batch reads and writes only the rows of its own members, found by
    CIN (Prepared.cins, .member_ids). When a batch names a CIN of a batch being
    written, or resolves to one of its members (an add and a termination for one
    CIN in nearby batches, say), it waits for those to be committed and is
    prepared after them. Each batch is written in its own transaction, with its
    issues, audit event and progress, as in turn; batches may commit out of file
    order only when they share no member.

    The writers' threads start with no context variables: no request's pending
    audit event (each batch writes its own), no memo scope or shared mail
    connection of the caller's, which belong to one transaction and one thread.
    """

    def __init__(self, importer, progress, *, writers: int):
        self.importer = importer
        self.progress = progress
        self.total = Outcome()
        self.writing: list[tuple[Future, Prepared]] = []  # oldest first
        self.writers = [_Writer() for _ in range(writers)]
        self.turn = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        try:
            if exc_type is None:
                self._wait(len(self.writing))
            else:
                # Let the batches being written land (or not) before the file's
                # outcome is recorded; the first error is the one raised.
                for future, _ in self.writing:
                    with suppress(Exception):
                        future.result()
        finally:
            for writer in self.writers:
                writer.stop()
        return False

    def add(self, batch: list) -> None:
        importer = self.importer
        screened = importer.screen(batch)
        cins = cins_of(screened.valid)
        if any(not p.cins.isdisjoint(cins) for _, p in self.writing):
            self._wait(len(self.writing))
        prepared = importer.prepare(screened.valid)
        ids = prepared.member_ids
        if any(not p.member_ids.isdisjoint(ids) for _, p in self.writing):
            self._wait(len(self.writing))
            prepared = importer.prepare(screened.valid)  # now that they are committed
        self._wait(len(self.writing) - len(self.writers) + 1)
        writer = self.writers[self.turn % len(self.writers)]
        self.turn += 1
        self.writing.append((writer.submit(self._write, screened, prepared),
                             prepared))  # fmt: skip

    def _write(self, screened, prepared) -> Outcome:  # in a writer's thread
        with transaction.atomic():
            outcome = self.importer.write(screened, prepared)
            # An increment: batches may commit out of order.
            EnrollmentFile.objects.filter(pk=self.importer.file.pk).update(
                records_done=F("records_done") + done_count(outcome)
            )
        return outcome

    def _wait(self, count: int) -> None:
        """Wait for the `count` oldest batches being written, and count them."""
        for _ in range(max(count, 0)):
            future, _ = self.writing.pop(0)
            outcome = future.result()
            self.importer._mark_seen(outcome.seen)  # this connection's scratch table
            self.total.add(outcome)
            if self.progress is not None:
                self.progress(done_count(self.total), self.importer.file.records_total)


class _Writer:
    """A thread that runs jobs one after another on its own database connection,
    and closes the connection when stopped."""

    def __init__(self):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="834-writer", daemon=True)
        self.thread.start()

    def submit(self, function, *args) -> Future:
        future = Future()
        self.jobs.put((future, function, args))
        return future

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join()

    def _run(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                future, function, args = job
                try:
                    future.set_result(function(*args))
                except BaseException as error:  # noqa: BLE001 - raised by the waiter
                    future.set_exception(error)
        finally:
            connections.close_all()  # this thread's
