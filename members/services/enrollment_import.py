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

This module receives a file and runs its import; import_parsing reads it (in a
child process), import_records applies its records a batch at a time, and
import_batches moves the batches along, pipelined over writer connections.
"""

import gc
import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from calaim import access as registry
from calaim.accounts.models import County, Organization
from members.models import (
    EnrollmentFile,
)
from members.services.import_batches import Outcome, Pipeline, import_in_turn
from members.services.import_parsing import parsed_batches
from members.services.import_records import AUDIT, Importer

logger = logging.getLogger(__name__)


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads" / "834"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


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
    importer = Importer(enrollment_file, actor, counties, track_seen=is_roster)
    # Everything alive now (Django, the app) outlives the import: leave it out of
    # the garbage collector's passes over the import's many short-lived objects
    # (a fifth of this process's own work); also spares the parser child's
    # copy-on-write pages.
    gc.freeze()
    try:
        with (
            _scratch_tables(enrollment_file.pk, track_seen=is_roster),
            parsed_batches(path) as batches,
        ):
            batches = _checked_kind(batches, is_roster=is_roster)
            writers = settings.IMPORT_834_WRITERS
            if connection.in_atomic_block or writers < 1:
                # Another connection would not see the caller's uncommitted rows
                # (the file's own row among them): one batch after another.
                total = import_in_turn(importer, batches, progress)
            else:
                with Pipeline(importer, progress, writers=writers) as pipeline:
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


# --- Helpers ------------------------------------------------------------------------
