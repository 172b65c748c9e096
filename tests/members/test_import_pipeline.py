"""The 834 import's pipeline: batches prepared on one connection while earlier ones
are written on others (members.services.import_batches.Pipeline).

These tests commit for real (a second connection cannot see a test's open
transaction; inside one, the import goes one batch after another). Small batches
make a short file cross many batch boundaries.
"""

import itertools
import json
import threading

import pytest
from django.db import connection

from calaim.accounts.models import County, PlanCode
from calaim.audit.models import AuditEvent
from members.models import (
    Enrollment,
    EnrollmentFile,
    EnrollmentFileIssue,
    Member,
    MemberChange,
    MemberCin,
    MemberPlanSnapshot,
)
from members.services import import_batches, import_parsing, import_records
from members.x12 import synthetic
from tests.factories import MemberFactory, OrganizationFactory
from tests.members.test_import_834 import _import

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

_control_numbers = itertools.count(500)
PRIOR = {30, 31, 32}  # members stored under their prior CINs before the files


@pytest.fixture
def plan(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path / "data"
    monkeypatch.setattr(import_parsing, "BATCH_SIZE", 5)
    plan = OrganizationFactory(name="Pipeline Plan", plan=True)
    PlanCode.objects.create(plan=plan, county=County.objects.get(code="37"), code="170")
    return plan


@pytest.fixture
def batches_written(monkeypatch):
    """How many batches went through the pipeline's writers."""
    written = []
    real = import_batches.Pipeline._write

    def spy(self, screened, prepared):
        written.append(threading.current_thread().name)
        return real(self, screened, prepared)

    monkeypatch.setattr(import_batches.Pipeline, "_write", spy)
    return written


def _file(tmp_path, records):
    path = tmp_path / f"file-{next(_control_numbers)}.x12"
    synthetic.write_members(path, records, interchange_control=next(_control_numbers))
    return path


def _files(tmp_path):
    """Adds (with bad and repeated records), then changes, terminations,
    reinstatements and CIN changes, with the same CIN in neighbouring batches."""
    first = [
        member
        for member in synthetic.roster(40, bad={3: "county", 17: "birth_date"})
        if member.index not in PRIOR  # they arrive with the second file
    ]
    first += [first[5], first[22]]  # repeats, reported once each
    # An add and then a termination of the same CINs, one and two batches later.
    first += list(synthetic.roster(3, start=40))
    first += list(synthetic.roster(3, start=40, terminations={40, 42}))
    first += list(synthetic.roster(4, start=43))
    first += list(synthetic.roster(2, start=42, reinstatements={42}))
    second = list(
        synthetic.roster(
            47,
            changes=0.3,
            terminations={4, 12, 27},
            prior_cins=PRIOR,
            bad={8: "dtp_date"},
        )
    )
    third = list(synthetic.roster(47, reinstatements={4, 12}))
    return [_file(tmp_path, records) for records in (first, second, third)]


def _state(results):
    """Everything the files wrote, by natural keys (keys and times differ run to
    run)."""
    member_columns = [
        field.attname
        for field in Member._meta.concrete_fields
        if field.attname not in {"id", "uuid", "created_at", "updated_at"}
    ]
    cin_of = dict(Member.objects.values_list("id", "cin"))
    return {
        "files": [
            (
                r.status,
                r.added,
                r.changed,
                r.terminated,
                r.reinstated,
                r.unchanged,
                r.rejected,
                r.missing_from_roster,
                r.records_done,
            )
            for r in results
        ],  # fmt: skip
        "members": sorted(Member.objects.values_list(*member_columns)),
        "cins": sorted(
            (c.cin, cin_of[c.member_id], c.is_current) for c in MemberCin.objects.all()
        ),
        "spans": sorted(
            (
                cin_of[e.member_id],
                e.start_date,
                e.end_date,
                e.aid_code,
                e.county_id,
                e.source_segment,
            )
            for e in Enrollment.objects.all()
        ),  # fmt: skip
        "changes": sorted(
            (
                cin_of[c.member_id],
                json.dumps(c.changes, sort_keys=True),
                c.source_segment,
            )
            for c in MemberChange.objects.all()
        ),  # fmt: skip
        "snapshots": sorted(
            (cin_of[s.member_id], s.content_hash)
            for s in MemberPlanSnapshot.objects.all()
        ),
        "issues": sorted(
            EnrollmentFileIssue.objects.values_list(
                "kind", "segment_number", "segment", "cin", "reason"
            )
        ),
        "audit events": AuditEvent.objects.filter(
            object_type="enrollment_import"
        ).count(),
    }


def _empty_member_tables():
    tables = [
        model._meta.db_table
        for model in (MemberPlanSnapshot, MemberChange, EnrollmentFileIssue,
                      Enrollment, EnrollmentFile, MemberCin, Member, AuditEvent)
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def _run(plan, paths):
    for index in PRIOR:
        person = synthetic.member_for(index)
        MemberFactory(
            cin=person.prior_cin,
            first_name=f"Prior{index}",
            birth_date=person.birth_date,
        )
    return _state([_import(plan, path) for path in paths])


def _writer_threads():
    return [t for t in threading.enumerate() if t.name == "834-writer"]


@pytest.mark.parametrize("writers", [1, 2])
def test_the_pipeline_lands_exactly_what_one_batch_after_another_lands(
    plan, tmp_path, settings, batches_written, writers
):
    paths = _files(tmp_path)
    settings.IMPORT_834_WRITERS = 0
    in_turn = _run(plan, paths)
    assert batches_written == []
    _empty_member_tables()
    settings.IMPORT_834_WRITERS = writers
    pipelined = _run(plan, paths)
    assert len(batches_written) > 25
    assert pipelined == in_turn
    # The file's own checks, so that equal is also right.
    first, second, third = pipelined["files"]
    assert first[:7] == ("done", 42, 0, 2, 1, 0, 2)
    assert second[0] == third[0] == "done"
    assert second[3] == 3  # terminated
    assert third[4] == 2  # reinstated
    assert {cin for cin, _, current in pipelined["cins"] if not current} == {
        synthetic.member_for(index).prior_cin for index in PRIOR
    }
    assert not _writer_threads()


def test_a_termination_one_batch_after_its_add_waits_for_the_add(
    plan, tmp_path, batches_written
):
    """Batch 2 names CINs that batch 1 adds: it is prepared only once batch 1 is
    committed, or it could not find those members."""
    records = [
        *synthetic.roster(5),
        *synthetic.roster(5, terminations={0, 1, 2, 3, 4}),
        *synthetic.roster(5, reinstatements={0, 1, 2, 3, 4}),
    ]
    result = _import(plan, _file(tmp_path, records))
    assert len(batches_written) == 3
    assert (result.added, result.terminated, result.reinstated) == (5, 5, 5)
    assert result.rejected == 0
    assert Enrollment.objects.filter(end_date__isnull=True).count() == 5


def test_a_batch_the_database_refuses_is_replayed_one_record_at_a_time(
    plan, tmp_path, monkeypatch, batches_written
):
    """A span the import did not see (written by someone else since) makes the
    database refuse the batch: only that member's record is rejected."""
    person = synthetic.member_for(7)
    member = MemberFactory(cin=person.cin, birth_date=person.birth_date)
    Enrollment.objects.create(
        member=member, plan=plan, county_id="37", start_date=person.eligibility_begin
    )
    real = import_records.Importer._load_spans

    def blind_to_the_span(self, members):
        spans = real(self, members)
        spans.pop(member.pk, None)
        return spans

    monkeypatch.setattr(import_records.Importer, "_load_spans", blind_to_the_span)
    result = _import(plan, _file(tmp_path, synthetic.roster(20)))
    assert len(batches_written) == 4
    assert result.status == EnrollmentFile.Status.DONE
    assert (result.added, result.rejected, result.records_done) == (19, 1, 20)
    issue = EnrollmentFileIssue.objects.get(file=result, kind="rejected")
    assert issue.cin == person.cin
    assert "overlaps another span" in issue.reason
    assert Enrollment.objects.filter(plan=plan).count() == 20
    assert Member.objects.count() == 20


def test_a_writer_that_fails_fails_the_file_and_leaves_no_thread(
    plan, tmp_path, monkeypatch, batches_written
):
    real = import_records.Importer.write
    calls = itertools.count()

    def fails_third(self, screened, prepared):
        if next(calls) == 2:
            raise RuntimeError("disk full")
        return real(self, screened, prepared)

    monkeypatch.setattr(import_records.Importer, "write", fails_third)
    with pytest.raises(RuntimeError, match="disk full"):
        _import(plan, _file(tmp_path, synthetic.roster(30)))
    enrollment_file = EnrollmentFile.objects.get()
    assert enrollment_file.status == EnrollmentFile.Status.FAILED
    assert enrollment_file.error == "The import stopped: RuntimeError"
    # Every batch that was written landed whole; the failed one not at all.
    assert Member.objects.count() % 5 == 0
    assert Member.objects.count() <= 25
    assert enrollment_file.records_done == Member.objects.count()
    assert not _writer_threads()


def test_an_audit_roster_through_the_pipeline_reports_only_the_missing(
    plan, tmp_path, batches_written
):
    _import(plan, _file(tmp_path, synthetic.roster(20)))
    # Members 5..24: 0..4 are missing, 20..24 are new (seen, not missing).
    result = _import(
        plan, _file(tmp_path, synthetic.roster(20, start=5, maintenance="030"))
    )
    assert (result.added, result.unchanged) == (5, 15)
    assert result.missing_from_roster == 5
    missing = EnrollmentFileIssue.objects.filter(file=result, kind="missing")
    assert set(missing.values_list("cin", flat=True)) == {
        synthetic.cin_for(index) for index in range(5)
    }
    assert len(batches_written) == 8
