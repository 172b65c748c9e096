"""The X12 834 enrollment import: a plan's whole roster, record by record.

A file is read twice, streaming: first its envelope is checked (a broken envelope
rejects the file whole and writes nothing), then its member records are applied in
batches. Within a batch every record is validated in Python first; the writes of a
batch go in one transaction of set-based statements (a handful of queries per
batch, never one round trip per field). When the database refuses a batch (an
overlap the checks did not foresee), the batch is replayed one record per
savepoint so that only the offending record is rejected: a record lands whole or
not at all, and every good record in the file still lands.

Idempotent: each applied record's content hash is kept per member and plan; the
same content again (even under a new interchange control number) changes nothing.
Every field an import changes is recorded in MemberChange with its old value.
"""

import fcntl
import gc
import hashlib
import logging
import os
import pickle
import queue
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from calaim import access as registry
from calaim import bulk
from calaim.accounts.models import County, Organization
from calaim.audit.services import audit_record
from members.models import (
    Enrollment,
    EnrollmentFile,
    EnrollmentFileIssue,
    Member,
    MemberChange,
    MemberCin,
    MemberPlanSnapshot,
)
from members.services.records import termination_hooks

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
PIPE_SIZE = 1 << 20
# How many members' last content hashes the parser keeps in memory to spot a
# record repeated in the file (a CIN and 16 bytes of hash each, about 160 bytes
# with the dict's overhead: some 24 MB at most). Past that, records of members
# not yet met are checked against a table in the database.
REPEAT_MEMORY = 150_000
ADD, CHANGE, TERMINATION, REINSTATEMENT, AUDIT = "021", "001", "024", "025", "030"

# Member fields an 834 record sets, with the record attribute each comes from.
MEMBER_FIELDS = {
    "first_name": "first_name",
    "middle_name": "middle_name",
    "last_name": "last_name",
    "birth_date": "birth_date",
    "sex": "sex",
    "preferred_language": "language",
    "phone": "phone",
    "address_line1": "address_line1",
    "address_line2": "address_line2",
    "city": "city",
    "state": "state",
    "zip_code": "zip",
    "county_id": "county_code",
}
# Columns of the rows this import adds, in COPY order (see _render).
NEW_MEMBER_COLUMNS = (
    "id", "uuid", "cin", *MEMBER_FIELDS, "is_homeless", "race_ethnicity",
    "merged_into_id", "created_at", "updated_at",
)  # fmt: skip
NEW_SPAN_COLUMNS = (
    "member_id", "plan_id", "county_id", "aid_code", "start_date", "end_date",
    "source_file_id", "source_segment", "updated_at",
)  # fmt: skip
NEW_CIN_COLUMNS = ("cin", "member_id", "is_current", "source", "recorded_at")
NEW_SNAPSHOT_COLUMNS = ("member_id", "plan_id", "content_hash")


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads" / "834"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


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
class _Screened:
    """A batch with the records that have errors and the repeats set aside."""

    valid: list = field(default_factory=list)
    issues: list = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)


@dataclass
class _Prepared:
    """A batch applied in memory, ready to write (_Importer.prepare)."""

    outcome: Outcome = field(default_factory=Outcome)
    issues: list = field(default_factory=list)  # records rejected in memory
    touched: list = field(default_factory=list)  # the members it changes
    changes: tuple | None = None  # what _Importer._write takes; None: nothing
    seen: set = field(default_factory=set)  # ids of the members it resolved
    # What it read, for _Pipeline: every CIN it looked up or moves a member
    # from, and the members it loaded.
    cins: set = field(default_factory=set)
    member_ids: set = field(default_factory=set)


def _cins_of(records) -> set[str]:
    """The CINs the records name: their own and their prior ones (REF*Q4)."""
    cins = {record.cin for record in records}
    for record in records:
        if record.prior_ids:
            cins.update(record.prior_ids)
    return cins


class _NewMember:
    """A member this batch adds, as plain attributes: written as one COPY row
    with no Django model behind it, since building model instances took a third
    of a large first import. Members already stored stay Member instances."""

    pk = id = None

    def __init__(self, cin: str, values: dict):
        self.cin = cin
        self.__dict__.update(values)


class _NewSpan:
    """An enrollment span this batch creates (see _NewMember)."""

    pk = member_id = None

    def __init__(self, **values):
        self.__dict__.update(values)


class RecordRejected(Exception):
    """A record that cannot be applied, with the reason given to the plan."""

    def __init__(self, reason: str, segment: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.segment = segment


# --- Receiving a file -------------------------------------------------------------


@transaction.atomic
def enrollment_file_receive(
    *, plan: Organization, source, original_name: str, actor, queue: bool = True
):
    """Store an 834 file (with its hash) for a plan and, unless told not to, queue
    its import for the worker.

    `source` is an open binary file or an upload. The file is PHI: it goes to a
    private folder under CALAIM_DATA_DIR, never to a public media URL. People need
    the plan administrator's permission; the import command acts as the plan's
    "834 import" system account.
    """
    if not actor.is_service_account:
        registry.require_permission(actor, "members.add_enrollmentfile")
    if not plan.is_plan or actor.organization_id != plan.pk:
        raise PermissionDenied("You can only import files for your own plan.")
    digest = hashlib.sha256()
    size = 0
    temporary = upload_dir() / f".incoming-{uuid.uuid4().hex}"
    chunks = (
        source.chunks()
        if hasattr(source, "chunks")
        else iter(lambda: source.read(1 << 20), b"")
    )
    with open(temporary, "wb") as out:
        os.chmod(temporary, 0o600)
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    final = upload_dir() / f"{digest.hexdigest()}.x12"
    os.replace(temporary, final)
    enrollment_file = EnrollmentFile.objects.create(
        plan=plan,
        original_name=os.path.basename(original_name)[:255],
        stored_path=str(final),
        sha256=digest.hexdigest(),
        size_bytes=size,
        uploaded_by=actor,
    )
    if queue:
        from members.tasks import import_enrollment_file

        transaction.on_commit(
            lambda: _enqueue(import_enrollment_file, enrollment_file.pk)
        )
    return enrollment_file


def _enqueue(task, pk):
    try:
        task.delay(pk)
    except Exception:  # the sweep picks it up once the broker is back
        logger.exception("could not enqueue the import of enrollment file %s", pk)


# --- Importing a file -------------------------------------------------------------


def enrollment_file_import(
    *,
    enrollment_file: EnrollmentFile,
    actor,
    progress: Callable[[int, int], None] | None = None,
) -> EnrollmentFile:
    """Import a received 834 file. Safe to call twice: only one run claims it."""
    from members.x12.reader import X12Error, check_envelope

    claimed = EnrollmentFile.objects.filter(
        pk=enrollment_file.pk, status=EnrollmentFile.Status.RECEIVED
    ).update(status=EnrollmentFile.Status.IMPORTING, started_at=timezone.now())
    enrollment_file.refresh_from_db()
    if not claimed:
        return enrollment_file
    path = enrollment_file.stored_path
    try:
        summary = check_envelope(path)
    except X12Error as broken:
        _finish(enrollment_file, EnrollmentFile.Status.REJECTED, error=str(broken))
        return enrollment_file
    enrollment_file.interchange_control_number = summary.interchange_control
    enrollment_file.file_kind = summary.file_kind or ""
    enrollment_file.records_total = summary.member_records
    enrollment_file.save(
        update_fields=["interchange_control_number", "file_kind", "records_total"]
    )
    counties = set(County.objects.values_list("code", flat=True))
    # Only an audit (030) roster needs the members it saw, to report those
    # missing from it; the envelope pass counted its 030 records.
    is_roster = summary.audit_records > 0
    importer = _Importer(enrollment_file, actor, counties, track_seen=is_roster)
    # Everything alive now (Django, the app) outlives the import: leave it out of
    # the garbage collector's passes over the import's many short-lived objects
    # (a fifth of this process's own work); also spares the parser child's
    # copy-on-write pages.
    gc.freeze()
    try:
        with (
            _scratch_tables(enrollment_file.pk, track_seen=is_roster),
            _parsed_batches(path) as batches,
        ):
            batches = _checked_kind(batches, is_roster=is_roster)
            writers = settings.IMPORT_834_WRITERS
            if connection.in_atomic_block or writers < 1:
                # Another connection would not see the caller's uncommitted rows
                # (the file's own row among them): one batch after another.
                total = _import_in_turn(importer, batches, progress)
            else:
                with _Pipeline(importer, progress, writers=writers) as pipeline:
                    for batch in batches:
                        pipeline.add(batch)
                total = pipeline.total
            missing = importer.report_missing_from_roster() if is_roster else 0
    except X12Error as broken:
        # The envelope pass saw a sound file; anything now is a changed file.
        _finish(enrollment_file, EnrollmentFile.Status.FAILED, error=str(broken))
        return enrollment_file
    except Exception as failure:
        _finish(enrollment_file, EnrollmentFile.Status.FAILED,
                error=f"The import stopped: {type(failure).__name__}")  # fmt: skip
        raise
    finally:
        gc.unfreeze()
    _finish(enrollment_file, EnrollmentFile.Status.DONE, outcome=total, missing=missing)
    return enrollment_file


def _checked_kind(batches, *, is_roster: bool) -> Iterator[list]:
    from members.x12.reader import X12Error

    for batch in batches:
        if not is_roster and any(r.maintenance == AUDIT for r in batch):
            raise X12Error(
                "the file changed after its envelope was checked: it now holds "
                "audit (030) records"
            )
        yield batch


def _import_in_turn(importer, batches, progress) -> Outcome:
    total = Outcome()
    for batch in batches:
        # One transaction per batch: its records, its issues, its audit event
        # and the progress they make land together, with one commit (and one
        # WAL flush) instead of four.
        with transaction.atomic():
            total.add(importer.apply(batch))
            _record_progress(importer.file, _done(total))
        if progress is not None:
            progress(_done(total), importer.file.records_total)
    return total


class _Pipeline:
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
    CIN (_Prepared.cins, .member_ids). When a batch names a CIN of a batch being
    written, or resolves to one of its members (an add and a termination for one
    CIN in nearby batches, say), it waits for those to be committed and is
    prepared after them. Each batch is written in its own transaction, with its
    issues, audit event and progress, as in turn; batches may commit out of file
    order only when they share no member.

    The writers' threads start with no context variables: no request's pending
    audit event (each batch writes its own), no memo scope or shared mail
    connection of the caller's, which belong to one transaction and one thread.
    """

    def __init__(self, importer: "_Importer", progress, *, writers: int):
        self.importer = importer
        self.progress = progress
        self.total = Outcome()
        self.writing: list[tuple[Future, _Prepared]] = []  # oldest first
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
        cins = _cins_of(screened.valid)
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
                records_done=F("records_done") + _done(outcome)
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
                self.progress(_done(self.total), self.importer.file.records_total)


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
def _parsed_batches(path):
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


def _done(outcome: Outcome) -> int:
    return (outcome.added + outcome.changed + outcome.terminated
            + outcome.reinstated + outcome.unchanged + outcome.rejected
            + outcome.duplicates)  # fmt: skip


def _record_progress(enrollment_file, done: int) -> None:
    EnrollmentFile.objects.filter(pk=enrollment_file.pk).update(records_done=done)


def _finish(enrollment_file, status, *, error="", outcome=None, missing=0):
    outcome = outcome or Outcome()
    counts = ("added", "changed", "terminated", "reinstated", "unchanged", "rejected")
    enrollment_file.status = status
    enrollment_file.error = error
    enrollment_file.finished_at = timezone.now()
    for name in counts:
        setattr(enrollment_file, name, getattr(outcome, name))
    enrollment_file.missing_from_roster = missing
    # Not records_done: the batches counted it as they committed, and this copy
    # of the row never saw it.
    enrollment_file.save(
        update_fields=["status", "error", "finished_at", *counts, "missing_from_roster"]
    )
    enrollment_file.refresh_from_db(fields=["records_done"])


class _scratch_tables:
    """Per-import scratch tables on this connection: members seen (for the audit
    roster) and the last record hash of members the parser does not remember
    (for repeats within the file). They live in the database so memory does not
    grow with the file."""

    def __init__(self, file_id: int, *, track_seen: bool = True):
        self.suffix = str(file_id)
        self.track_seen = track_seen

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS import_seen_{self.suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS import_hashes_{self.suffix}")
            if self.track_seen:
                cursor.execute(
                    f"CREATE TEMP TABLE import_seen_{self.suffix} "
                    "(member_id bigint PRIMARY KEY)"
                )
            cursor.execute(
                f"CREATE TEMP TABLE import_hashes_{self.suffix} "
                "(cin text PRIMARY KEY, hash text NOT NULL)"
            )
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS import_seen_{self.suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS import_hashes_{self.suffix}")


class _Importer:
    def __init__(
        self,
        enrollment_file: EnrollmentFile,
        actor,
        counties: set[str],
        *,
        track_seen: bool = True,
    ):
        self.file = enrollment_file
        self.track_seen = track_seen
        self.plan_id = enrollment_file.plan_id
        self.actor = actor
        self.counties = counties
        self.suffix = str(enrollment_file.pk)

    # One batch ------------------------------------------------------------------
    #
    # A batch goes through three steps: `screen` sets aside the records with
    # errors and the repeats; `prepare` reads what the batch needs (its members,
    # their spans and snapshots) and applies its records in memory; `write` writes
    # the result inside the batch's transaction. `apply` runs all three on this
    # connection; _Pipeline prepares one batch while the one before it is written.

    def apply(self, records: list) -> Outcome:
        """Screen, prepare and write one batch, in the caller's transaction."""
        screened = self.screen(records)
        outcome = self.write(screened, self.prepare(screened.valid))
        self._mark_seen(outcome.seen)
        return outcome

    def screen(self, records: list) -> "_Screened":
        screened = _Screened()
        for record in records:
            if record.errors:
                first = record.errors[0]
                screened.issues.append(self._issue(
                    EnrollmentFileIssue.Kind.REJECTED, record,
                    "; ".join(_describe(error) for error in record.errors),
                    segment=first.segment,
                ))  # fmt: skip
                screened.outcome.rejected += 1
            else:
                screened.valid.append(record)
        screened.valid, repeats = self._drop_repeats(screened.valid)
        for record in repeats:
            screened.issues.append(self._issue(
                EnrollmentFileIssue.Kind.DUPLICATE, record,
                "An identical record appeared earlier in this file; applied once.",
            ))  # fmt: skip
            screened.outcome.duplicates += 1
        return screened

    def write(self, screened: "_Screened", prepared: "_Prepared") -> Outcome:
        """Write a prepared batch, with its issues and its audit event. When the
        database refuses it, the batch is applied again one record at a time, so
        that only the refused record is rejected."""
        outcome = Outcome()
        outcome.add(screened.outcome)
        issues = list(screened.issues)
        try:
            with _checked_savepoint():
                applied = self._commit(prepared)
            issues += prepared.issues
        except IntegrityError:
            applied = self._apply_one_by_one(screened.valid, issues)
        outcome.add(applied)
        outcome.touched = applied.touched
        # The members the batch resolved count as seen by an audit roster even
        # when their record is rejected, as do those it wrote.
        outcome.seen = prepared.seen | applied.seen
        EnrollmentFileIssue.objects.bulk_create(issues)
        if applied.touched:
            audit_record(
                action="update",
                object_type="enrollment_import",
                object_id=str(self.file.uuid),
                member_ids=sorted(applied.touched),
                actor=self.actor,
                reason=f"834 {self.file.original_name}",
            )
        return outcome

    def _apply_one_by_one(self, records, issues) -> Outcome:
        total = Outcome()
        for record in records:
            try:
                with _checked_savepoint():
                    result = self._apply_records([record], issues)
            except IntegrityError as refused:
                issues.append(self._issue(
                    EnrollmentFileIssue.Kind.REJECTED, record,
                    f"The database refused this record: {_constraint(refused)}",
                ))  # fmt: skip
                total.rejected += 1
                continue
            total.add(result)
            total.touched |= result.touched
            total.seen |= result.seen
        return total

    def _drop_repeats(self, records):
        """Split off records with the same content as their member's previous
        record in this file.

        The parser has marked most records already (see _RepeatMarker); those
        it could not tell are compared with this import's table of each such
        member's last hash, which is then brought up to date.
        """
        unknown = [r for r in records if getattr(r, "repeat", None) is None]
        last = {}
        if unknown:
            table = f"import_hashes_{self.suffix}"  # the file's integer key
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT cin, hash FROM {table} WHERE cin = ANY(%s)",  # noqa: S608
                    [list({record.cin for record in unknown})],
                )
                last = dict(cursor.fetchall())
        kept, repeats, changed = [], [], {}
        for record in records:
            repeat = getattr(record, "repeat", None)
            if repeat is None:
                repeat = last.get(record.cin) == record.content_hash
                last[record.cin] = changed[record.cin] = record.content_hash
            (repeats if repeat else kept).append(record)
        if changed:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (cin, hash) "  # noqa: S608
                    "SELECT * FROM unnest(%s::text[], %s::text[]) "
                    "ON CONFLICT (cin) DO UPDATE SET hash = excluded.hash",
                    [list(changed), list(changed.values())],
                )
        return kept, repeats

    def _apply_records(self, records, issues) -> Outcome:
        """Prepare and write records on this connection (the one-by-one replay)."""
        prepared = self.prepare(records)
        outcome = self._commit(prepared)
        issues += prepared.issues
        outcome.seen |= prepared.seen
        return outcome

    def prepare(self, records) -> "_Prepared":
        """Read what the records need and apply them in memory; nothing is
        written. A record that cannot apply is rejected here with its reason."""
        prepared = _Prepared()
        if not records:
            return prepared
        outcome = prepared.outcome
        # Most records of a routine file are unchanged: settle those with one
        # query on CINs and hashes before loading any member.
        resolved = self._resolve_member_ids(records)
        prepared.cins = _cins_of(records)
        prepared.seen = {member_id for member_id, _ in resolved.values()}
        prepared.member_ids = prepared.seen
        pending = []
        for record in records:
            member_id, known_hash = resolved.get(record.cin, (None, None))
            if member_id is not None and known_hash == record.content_hash:
                outcome.unchanged += 1
            else:
                pending.append(record)
        if not pending:
            return prepared
        members = self._load_members(pending, resolved)
        # Current CINs too: a record that moves a member to a new CIN changes the
        # rows of the old one (_Pipeline.add).
        prepared.cins = _cins_of(records) | {m.cin for m in members.values()}
        spans = self._load_spans(members.values())
        new_members, member_changes, cin_changes = {}, {}, []
        snapshot_rows = {}
        for record in pending:
            member = members.get(record.cin)
            try:
                kind = self._apply_record(
                    record, member, members, spans, new_members, member_changes,
                    cin_changes,
                )  # fmt: skip
            except RecordRejected as rejected:
                prepared.issues.append(self._issue(
                    EnrollmentFileIssue.Kind.REJECTED, record, rejected.reason,
                    segment=rejected.segment,
                ))  # fmt: skip
                outcome.rejected += 1
                continue
            member = members[record.cin]
            setattr(outcome, kind, getattr(outcome, kind) + 1)
            snapshot_rows[id(member)] = (member, record.content_hash)
            if kind != "unchanged":
                prepared.touched.append(member)
        rows = self._render(new_members, spans, snapshot_rows)
        prepared.changes = (new_members, member_changes, cin_changes, spans,
                            snapshot_rows, rows)  # fmt: skip
        return prepared

    def _commit(self, prepared: "_Prepared") -> Outcome:
        """Write what `prepare` applied in memory, and call the termination hooks."""
        outcome = Outcome()
        outcome.add(prepared.outcome)
        if prepared.changes is None:
            return outcome
        self._write(*prepared.changes)
        _, _, _, spans, snapshot_rows, _ = prepared.changes
        outcome.touched = {member.pk for member in prepared.touched}
        outcome.seen = {member.pk for member, _ in snapshot_rows.values()}
        ended = [span for member_spans in spans.values() for span in member_spans
                 if getattr(span, "_terminated", False)]  # fmt: skip
        for hook in termination_hooks:
            for span in ended:
                hook(member_ids=[span.member_id], plan_id=self.plan_id,
                     end_date=span.end_date, source=self.file)  # fmt: skip
        return outcome

    def _apply_record(self, record, member, members, spans, new_members,
                      member_changes, cin_changes) -> str:  # fmt: skip
        """Apply one record in memory; raise RecordRejected before changing
        anything when it cannot be applied."""
        values = self._values(record)
        is_new = member is None
        if is_new:
            if record.maintenance in (TERMINATION, REINSTATEMENT):
                raise RecordRejected(
                    f"CIN {record.cin} is not a member of this plan yet, so there "
                    "is nothing to terminate or reinstate", "INS"
                )  # fmt: skip
            member = _NewMember(record.cin, values)
        key = member.pk or id(member)
        had_span = any(span.pk for span in spans.get(key, []))
        span_changed = self._apply_span(member, record, spans.setdefault(key, []))
        if is_new:
            new_members[record.cin] = member
            members[record.cin] = member
            return "added"
        fields_changed = self._update_member(
            member, record, values, member_changes, cin_changes
        )
        if record.maintenance in (ADD, AUDIT, CHANGE) and not had_span:
            return "added"
        if record.maintenance == TERMINATION and span_changed:
            return "terminated"
        if record.maintenance == REINSTATEMENT and span_changed:
            return "reinstated"
        return "changed" if fields_changed or span_changed else "unchanged"

    # Members --------------------------------------------------------------------

    def _resolve_member_ids(self, records) -> dict[str, tuple[int, str | None]]:
        """CIN of each record -> (member id, hash of the last record applied for
        this plan), through the CIN history (a prior CIN in REF*Q4 counts)."""
        wanted = _cins_of(records)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.cin, c.member_id, s.content_hash "
                "FROM members_membercin c "
                "LEFT JOIN members_memberplansnapshot s "
                "ON s.member_id = c.member_id AND s.plan_id = %s "
                # One text parameter: psycopg dumps a list element by element.
                "WHERE c.cin = ANY(string_to_array(%s, ','))",
                [self.plan_id, ",".join(wanted)],
            )
            by_cin = {cin: (member_id, digest) for cin, member_id, digest in cursor}
        resolved = {}
        for record in records:
            found = by_cin.get(record.cin)
            if found is None:
                found = next(
                    (
                        by_cin[prior]
                        for prior in record.prior_ids or ()
                        if prior in by_cin
                    ),
                    None,
                )
            if found is not None:
                resolved[record.cin] = found
        return resolved

    def _load_members(self, records, resolved) -> dict[str, Member]:
        ids = {resolved[r.cin][0] for r in records if r.cin in resolved}
        by_id = Member.objects.in_bulk(ids)
        return {
            record.cin: by_id[resolved[record.cin][0]]
            for record in records
            if record.cin in resolved
        }

    def _values(self, record) -> dict:
        # MEMBER_FIELDS spelled out: a dict literal is much cheaper per record.
        values = {
            "first_name": record.first_name or "",
            "middle_name": record.middle_name or "",
            "last_name": record.last_name or "",
            "birth_date": record.birth_date,
            "sex": record.sex or "U",
            "preferred_language": record.language or "",
            "phone": record.phone or "",
            "address_line1": record.address_line1 or "",
            "address_line2": record.address_line2 or "",
            "city": record.city or "",
            "state": record.state or "",
            "zip_code": record.zip or "",
            "county_id": record.county_code or None,
        }
        if values["county_id"] and values["county_id"] not in self.counties:
            raise RecordRejected(f"unknown county code {values['county_id']}", "N4")
        return values

    def _update_member(self, member, record, values, member_changes, cin_changes):
        """Take the record's values; every difference is kept with its old value.
        An empty value in the file never erases what is stored."""
        _, changes, _ = member_changes.setdefault(id(member), (member, {}, record))
        changed = False
        if member.cin != record.cin:
            cin_changes.append((member, member.cin, record.cin))
            changes["cin"] = [member.cin, record.cin]
            member.cin = record.cin
            changed = True
        for name, value in values.items():
            before = getattr(member, name)
            if value in ("", None) or before == value:
                continue
            changes[name] = [_jsonable(before), _jsonable(value)]
            setattr(member, name, value)
            changed = True
        member_changes[id(member)] = (member, changes, record)
        return changed

    def _mark_seen(self, member_ids: Iterable[int]):
        if not self.track_seen:
            return
        ids = [pk for pk in member_ids if pk]
        if ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO import_seen_{self.suffix} (member_id) "
                    "SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                    [ids],
                )

    # Enrollment spans -------------------------------------------------------------

    def _load_spans(self, members) -> dict:
        ids = [member.pk for member in members if member.pk]
        spans: dict = {}
        for span in Enrollment.objects.filter(plan_id=self.plan_id, member_id__in=ids):
            spans.setdefault(span.member_id, []).append(span)
        return spans

    def _apply_span(self, member, record, member_spans) -> bool:
        """Bring the member's spans with this plan in line with the record.

        Returns whether a span changed; raises RecordRejected before touching any
        span when the record cannot apply.
        """
        begin = record.coverage_begin or record.eligibility_begin
        end = record.coverage_end or record.eligibility_end
        county = record.county_code or member.county_id or ""
        if record.maintenance == TERMINATION:
            if end is None:
                raise RecordRejected("a termination needs an end date (DTP*357)", "DTP")
            span = _span_covering(member_spans, end) or _latest(member_spans)
            if span is None:
                raise RecordRejected("no enrollment span with this plan to end", "INS")
            if end < span.start_date:
                raise RecordRejected(
                    f"termination date {end} is before the span began "
                    f"({span.start_date})", "DTP"
                )  # fmt: skip
            if span.end_date == end:
                return False
            span.end_date = end
            span._dirty = span._terminated = True
            return True
        if begin is None:
            raise RecordRejected(
                "no coverage or eligibility begin date (DTP*348/356)", "DTP"
            )
        if end is not None and end < begin:
            raise RecordRejected(f"the span ends ({end}) before it begins ({begin})",
                                 "DTP")  # fmt: skip
        touching = [span for span in member_spans if _touches(span, begin, end)]
        if not touching:
            if not county:
                raise RecordRejected("no county code (N4*...*CY)", "N4")
            span = _NewSpan(
                plan_id=self.plan_id,
                county_id=county,
                aid_code=record.aid_code or "",
                start_date=begin,
                end_date=end,
                source_file_id=self.file.pk,
                source_segment=record.segment_number,
            )
            span._member = member
            span._dirty = True
            member_spans.append(span)
            return True
        span, *others = sorted(touching, key=lambda s: s.start_date)
        start, finish = min(span.start_date, begin), span.end_date
        for other in others:  # the record bridges two spans: they become one
            finish = _later_end(finish, other.end_date)
            other._delete = True
        if record.maintenance == REINSTATEMENT:
            finish = end  # a reinstatement reopens the span
        elif span.end_date is not None or others:
            finish = _later_end(finish, end)
        wanted = (
            start,
            finish,
            record.aid_code or span.aid_code,
            county or span.county_id,
        )
        if wanted == (span.start_date, span.end_date, span.aid_code, span.county_id):
            return bool(others)
        span.start_date, span.end_date, span.aid_code, span.county_id = wanted
        span._dirty = True
        return True

    # Writing ----------------------------------------------------------------------

    def _render(self, new_members, spans, snapshot_rows) -> dict[str, str]:
        """The batch's new rows in COPY's text format, by table, done while
        preparing (see _Pipeline): keys for the new members come from the
        sequence now, and the writer only streams the text."""
        now = timezone.now().isoformat()
        rows = {}
        if new_members:
            members = list(new_members.values())
            for member, pk in zip(
                members, bulk.allocate_ids(Member, len(members)), strict=True
            ):
                member.pk = member.id = pk
            uuids = _uuid4_texts(len(members))
            text, null = bulk.text_fields, bulk.NULL

            def fields(m):
                return (m.first_name, m.middle_name, m.last_name,
                        m.birth_date.isoformat(), m.sex, m.preferred_language,
                        m.phone, m.address_line1, m.address_line2, m.city, m.state,
                        m.zip_code)  # fmt: skip

            # County codes and CINs were checked against their patterns; the
            # other columns of NEW_MEMBER_COLUMNS are ours. "{}" is the empty
            # race_ethnicity array.
            rows[Member._meta.db_table] = "".join([
                f"{m.pk}\t{uuids[i]}\t{m.cin}\t"
                f"{text(fields(m))}\t"
                f"{m.county_id or null}\tf\t{{}}\t{null}\t{now}\t{now}\n"
                for i, m in enumerate(members)
            ])  # fmt: skip
            source = f"834 {self.file.pk}"
            rows[MemberCin._meta.db_table] = "".join(
                [f"{m.cin}\t{m.pk}\tt\t{source}\t{now}\n" for m in members]
            )
        created = []
        for member_spans in spans.values():
            for span in member_spans:
                if (not span.pk and getattr(span, "_dirty", False)
                        and not getattr(span, "_delete", False)):  # fmt: skip
                    span.member_id = span._member.pk
                    created.append(span)
        if created:
            rows[Enrollment._meta.db_table] = "".join([
                f"{s.member_id}\t{s.plan_id}\t{s.county_id}\t"
                f"{bulk.text_fields((s.aid_code,))}\t{s.start_date.isoformat()}\t"
                f"{s.end_date.isoformat() if s.end_date else bulk.NULL}\t"
                f"{s.source_file_id}\t"
                f"{bulk.NULL if s.source_segment is None else s.source_segment}\t"
                f"{now}\n"
                for s in created
            ])  # fmt: skip
        # A member added in this batch has no snapshot yet: a plain COPY.
        rows[MemberPlanSnapshot._meta.db_table] = "".join([
            f"{m.pk}\t{self.plan_id}\t{h}\n"
            for m, h in snapshot_rows.values() if isinstance(m, _NewMember)
        ])  # fmt: skip
        return rows

    def _write(self, new_members, member_changes, cin_changes, spans, snapshot_rows,
               rows) -> None:  # fmt: skip
        source = f"834 {self.file.pk}"
        bulk.copy_text(Member._meta.db_table, NEW_MEMBER_COLUMNS,
                       rows.get(Member._meta.db_table, ""))  # fmt: skip
        bulk.copy_text(MemberCin._meta.db_table, NEW_CIN_COLUMNS,
                       rows.get(MemberCin._meta.db_table, ""))  # fmt: skip
        changed = [(m, c, r) for m, c, r in member_changes.values() if c]
        if changed:
            fields = sorted({name for _, c, _ in changed for name in c})
            bulk.copy_update(
                Member, [m for m, _, _ in changed], [*fields, "updated_at"]
            )
            bulk.copy_insert(
                MemberChange,
                (MemberChange(member_id=m.pk, source_file=self.file,
                              source_segment=r.segment_number, changes=c)
                 for m, c, r in changed),
                with_pk=False,
            )  # fmt: skip
        if cin_changes:
            MemberCin.objects.filter(
                member__in=[member for member, _, _ in cin_changes]
            ).update(is_current=False)
            MemberCin.objects.bulk_create(
                MemberCin(cin=new, member=member, is_current=True,
                          source=f"{source} (was {old})")
                for member, old, new in cin_changes
            )  # fmt: skip
        to_delete, to_update = [], []
        for member_spans in spans.values():
            for span in member_spans:
                if getattr(span, "_delete", False):
                    if span.pk:
                        to_delete.append(span.pk)
                elif span.pk and getattr(span, "_dirty", False):
                    to_update.append(span)
        if to_delete:
            Enrollment.objects.filter(pk__in=to_delete).delete()
        bulk.copy_update(
            Enrollment, to_update, ["start_date", "end_date", "aid_code", "county_id"]
        )
        bulk.copy_text(Enrollment._meta.db_table, NEW_SPAN_COLUMNS,
                       rows.get(Enrollment._meta.db_table, ""))  # fmt: skip
        bulk.copy_text(MemberPlanSnapshot._meta.db_table, NEW_SNAPSHOT_COLUMNS,
                       rows.get(MemberPlanSnapshot._meta.db_table, ""))  # fmt: skip
        bulk.copy_upsert(
            MemberPlanSnapshot,
            (MemberPlanSnapshot(member_id=m.pk, plan_id=self.plan_id, content_hash=h)
             for m, h in snapshot_rows.values() if not isinstance(m, _NewMember)),
            conflict_fields=["member", "plan"],
            update_fields=["content_hash"],
        )  # fmt: skip

    # The audit roster --------------------------------------------------------------

    def report_missing_from_roster(self) -> int:
        """Members with an open span who are absent from a 030 audit file are
        reported, never deleted."""
        today = timezone.localdate()
        with connection.cursor() as cursor:
            # The table suffix is the file's integer key, not input.
            seen = f"import_seen_{self.suffix}"
            query = (
                "SELECT DISTINCT e.member_id, c.cin FROM members_enrollment e "  # noqa: S608
                "JOIN members_member c ON c.id = e.member_id "
                "WHERE e.plan_id = %s AND (e.end_date IS NULL OR e.end_date >= %s) "
                f"AND NOT EXISTS (SELECT 1 FROM {seen} s "
                "WHERE s.member_id = e.member_id)"
            )
            cursor.execute(query, [self.plan_id, today])
            missing = cursor.fetchall()
        EnrollmentFileIssue.objects.bulk_create(
            [EnrollmentFileIssue(
                file=self.file, kind=EnrollmentFileIssue.Kind.MISSING, cin=cin,
                reason="Enrolled here but missing from the audit (030) roster; "
                       "not removed.",
            ) for _, cin in missing],
            batch_size=BATCH_SIZE,
        )  # fmt: skip
        return len(missing)

    def _issue(self, kind, record, reason, segment=""):
        return EnrollmentFileIssue(
            file=self.file,
            kind=kind,
            segment_number=record.segment_number,
            segment=segment or "INS",
            cin=(record.cin or "")[:20],
            reason=reason[:500],
        )


# --- Helpers ------------------------------------------------------------------------


@contextmanager
def _checked_savepoint():
    """A savepoint inside the batch's transaction whose deferred constraints (the
    foreign keys) are checked before it is released: a refusal is raised here,
    where the records can still be retried one by one, not at the commit."""
    with transaction.atomic():
        yield
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _uuid4_texts(count: int) -> list[str]:
    """`count` random UUIDs (version 4, RFC 4122 variant, as uuid4() makes them)
    in 32 hex digits, which COPY takes for a uuid column: one urandom call and
    no UUID object per member."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(byte & 0x0F | 0x40 for byte in raw[6::16])
    raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])
    text = raw.hex()
    return [text[start : start + 32] for start in range(0, 32 * count, 32)]


def _describe(error) -> str:
    where = f"segment {error.segment_number} {error.segment}"
    if error.element:
        where += f"{error.element:02d}"
    return f"{where}: {error.reason}"


def _constraint(error: IntegrityError) -> str:
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    if name == "enrollment_spans_do_not_overlap":
        return "its enrollment span overlaps another span with this plan"
    return name or "a constraint was violated"


def _jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    return value


def _latest(spans):
    return max(spans, key=lambda s: s.start_date, default=None)


def _span_covering(spans, day):
    for span in spans:
        if span.start_date <= day and (span.end_date is None or day <= span.end_date):
            return span
    return None


def _later_end(first, second):
    if first is None or second is None:
        return None
    return max(first, second)


def _touches(span, begin, end) -> bool:
    """Overlapping or adjacent (one day apart) spans are one continuous span."""
    span_end = span.end_date
    if span_end is not None and begin > span_end + timedelta(days=1):
        return False
    return not (end is not None and end + timedelta(days=1) < span.start_date)
