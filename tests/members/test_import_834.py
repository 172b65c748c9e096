"""The X12 834 import: every maintenance type, bad input, idempotency, audit."""

import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calaim.accounts.models import County, PlanCode
from calaim.audit.models import AuditEvent
from members.models import (
    Enrollment,
    EnrollmentFile,
    EnrollmentFileIssue,
    Member,
    MemberChange,
    MemberCin,
)
from members.services import records
from members.services.enrollment_import import (
    enrollment_file_import,
    enrollment_file_receive,
)
from members.x12 import synthetic
from tests.factories import MemberFactory, OrganizationFactory
from tests.matrix import database_fingerprint

_control_numbers = itertools.count(100)


@pytest.fixture
def plan(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    plan = OrganizationFactory(name="Import Plan", plan=True)
    PlanCode.objects.create(plan=plan, county=County.objects.get(code="37"), code="170")
    return plan


def _write(tmp_path, members=30, **options):
    path = tmp_path / f"file-{next(_control_numbers)}.x12"
    options.setdefault("interchange_control", next(_control_numbers))
    synthetic.write_834(path, members, **options)
    return path


def _import(plan, path):
    from calaim.accounts.services import system_account

    actor = system_account(organization=plan, name="834 import")
    with open(path, "rb") as source:
        received = enrollment_file_receive(
            plan=plan, source=source, original_name=path.name, actor=actor, queue=False
        )
    result = enrollment_file_import(enrollment_file=received, actor=actor)
    result.refresh_from_db()
    return result


def _counts(result):
    names = ("added", "changed", "terminated", "reinstated", "unchanged", "rejected")
    return {name: getattr(result, name) for name in names if getattr(result, name)}


def _member_tables():
    fingerprint = database_fingerprint()
    return {
        table: value
        for table, value in fingerprint.items()
        if table.startswith("members_")
        and table
        not in {"members_enrollmentfile", "members_enrollmentfileissue",
                "members_memberplansnapshot"}
    }  # fmt: skip


def test_first_import_adds_every_member_with_a_span_and_cin_history(plan, tmp_path):
    result = _import(plan, _write(tmp_path, 30))
    assert result.status == EnrollmentFile.Status.DONE
    assert _counts(result) == {"added": 30}
    assert Member.objects.count() == 30
    assert MemberCin.objects.filter(is_current=True).count() == 30
    assert Enrollment.objects.filter(plan=plan, end_date__isnull=True).count() == 30
    first = synthetic.member_for(0)
    member = Member.objects.get(cin=first.cin)
    assert (member.last_name, member.first_name) == (first.last_name, first.first_name)
    assert member.birth_date == first.birth_date
    assert member.county_id == first.county_code
    span = member.enrollments.get()
    assert span.aid_code == first.aid_code
    assert span.start_date == first.eligibility_begin
    assert span.source_file == result


def test_names_and_addresses_land_exactly_with_copy_specials_and_accents(
    plan, tmp_path
):
    """New members are written as COPY text the import builds itself: a
    backslash or an accent in the file is stored as it was."""
    import dataclasses

    person = dataclasses.replace(
        synthetic.member_for(0),
        last_name="O\\BRIEN-NÚÑEZ",
        first_name="JOSÉ\\N",
        address_line1="12 ROAD \\ UNIT 3",
    )
    path = tmp_path / "specials.x12"
    synthetic.write_members(path, [person], interchange_control=11)
    assert _import(plan, path).added == 1
    member = Member.objects.get(cin=person.cin)
    assert (member.last_name, member.first_name, member.address_line1) == (
        "O\\BRIEN-NÚÑEZ",
        "JOSÉ\\N",
        "12 ROAD \\ UNIT 3",
    )


def test_imported_members_get_distinct_version_4_uuids(plan, tmp_path):
    _import(plan, _write(tmp_path, 30))
    uuids = list(Member.objects.values_list("uuid", flat=True))
    assert len(set(uuids)) == 30
    assert {(value.version, value.variant) for value in uuids} == {
        (4, "specified in RFC 4122")
    }


def test_the_social_security_like_meds_id_is_never_stored(plan, tmp_path):
    _import(plan, _write(tmp_path, 5))
    fingerprint_text = str(
        list(Member.objects.values_list()) + list(MemberCin.objects.values_list())
    )
    for index in range(5):
        assert synthetic.member_for(index).meds_id not in fingerprint_text


def test_reimporting_the_same_content_under_a_new_control_number_changes_nothing(
    plan, tmp_path
):
    _import(plan, _write(tmp_path, 30, interchange_control=1))
    before = _member_tables()
    again = _import(plan, _write(tmp_path, 30, interchange_control=2))
    assert _counts(again) == {"unchanged": 30}
    assert _member_tables() == before


def test_a_change_file_updates_members_and_keeps_the_old_values(plan, tmp_path):
    _import(plan, _write(tmp_path, 30))
    moved_indexes = {1, 4, 9}
    result = _import(
        plan, _write(tmp_path, 30, maintenance="001", changes=moved_indexes)
    )
    assert _counts(result) == {"changed": 3, "unchanged": 27}
    for index in moved_indexes:
        before = synthetic.member_for(index)
        after = synthetic.moved(before)
        member = Member.objects.get(cin=before.cin)
        assert member.address_line1 == after.address_line1
        change = MemberChange.objects.get(member=member)
        assert change.source_file == result
        assert change.changes["address_line1"] == [
            before.address_line1,
            after.address_line1,
        ]
    assert MemberChange.objects.count() == 3


def test_terminations_end_the_span_and_call_the_hook(plan, tmp_path):
    ended = []
    records.termination_hooks.append(lambda **kwargs: ended.append(kwargs))
    try:
        _import(plan, _write(tmp_path, 10))
        result = _import(plan, _write(tmp_path, 10, terminations={2, 3}))
    finally:
        records.termination_hooks.pop()
    assert result.terminated == 2
    assert result.unchanged == 8
    end = synthetic.last_day_of_month(synthetic.DEFAULT_FILE_DATE)
    for index in (2, 3):
        span = Enrollment.objects.get(member__cin=synthetic.cin_for(index))
        assert span.end_date == end
    assert sorted(call["member_ids"][0] for call in ended) == sorted(
        Member.objects.filter(
            cin__in=[synthetic.cin_for(2), synthetic.cin_for(3)]
        ).values_list("pk", flat=True)
    )
    assert all(call["end_date"] == end for call in ended)


def test_a_reinstatement_reopens_the_terminated_span(plan, tmp_path):
    _import(plan, _write(tmp_path, 5))
    _import(plan, _write(tmp_path, 5, terminations={1}))
    result = _import(plan, _write(tmp_path, 5, maintenance="021", reinstatements={1}))
    assert result.reinstated == 1
    span = Enrollment.objects.get(member__cin=synthetic.cin_for(1))
    assert span.end_date is None
    assert Enrollment.objects.filter(member__cin=synthetic.cin_for(1)).count() == 1


def test_an_add_and_a_termination_for_one_cin_in_one_file_apply_in_order(
    plan, tmp_path
):
    path = tmp_path / "add-then-terminate.x12"
    both = itertools.chain(synthetic.roster(3), synthetic.roster(3, terminations={0}))
    synthetic.write_members(path, both, interchange_control=7)
    result = _import(plan, path)
    assert result.added == 3
    assert result.terminated == 1
    span = Enrollment.objects.get(member__cin=synthetic.cin_for(0))
    assert span.end_date is not None


@pytest.mark.parametrize("memory", [None, 1])
def test_a_reinstatement_identical_to_the_add_is_applied_not_taken_for_a_repeat(
    plan, tmp_path, monkeypatch, memory
):
    """Add, terminate, reinstate one CIN in one file: the reinstatement carries
    the add's content (the maintenance type is not content), yet it follows a
    different record, so all three apply in order, whether the parser remembers
    the member (None) or the import's table of hashes does (1)."""
    from members.services import import_parsing

    if memory is not None:
        monkeypatch.setattr(import_parsing, "REPEAT_MEMORY", memory)
    path = tmp_path / "add-terminate-reinstate.x12"
    records = itertools.chain(
        synthetic.roster(2),
        synthetic.roster(2, terminations={0, 1}),
        synthetic.roster(2, reinstatements={0, 1}),
        synthetic.roster(2, reinstatements={0, 1}),  # this one is a repeat
    )
    synthetic.write_members(path, records, interchange_control=9)
    result = _import(plan, path)
    assert (result.added, result.terminated, result.reinstated) == (2, 2, 2)
    duplicates = EnrollmentFileIssue.objects.filter(file=result, kind="duplicate")
    assert duplicates.count() == 2
    assert Enrollment.objects.filter(plan=plan, end_date__isnull=True).count() == 2


def test_an_identical_record_repeated_in_one_file_is_reported_once(plan, tmp_path):
    result = _import(plan, _write(tmp_path, 4, repeat=2))
    assert result.added == 4
    duplicates = EnrollmentFileIssue.objects.filter(file=result, kind="duplicate")
    assert duplicates.count() == 4
    assert Member.objects.count() == 4


def test_repeats_are_found_past_what_the_parser_keeps_in_memory(
    plan, tmp_path, monkeypatch
):
    """Past REPEAT_MEMORY hashes the parser stops remembering; a later repeat
    of an early record is still found by the parser, one of a late record by
    the import's table of hashes."""
    from members.services import import_parsing

    monkeypatch.setattr(import_parsing, "REPEAT_MEMORY", 2)
    path = tmp_path / "repeats.x12"
    roster = list(synthetic.roster(5))
    records = [*roster, roster[0], roster[4], roster[4], roster[1]]
    synthetic.write_members(path, records, interchange_control=8)
    result = _import(plan, path)
    assert result.added == 5
    duplicates = EnrollmentFileIssue.objects.filter(file=result, kind="duplicate")
    assert sorted(duplicates.values_list("cin", flat=True)) == sorted(
        synthetic.cin_for(index) for index in (0, 1, 4, 4)
    )
    assert Member.objects.count() == 5


def test_a_file_without_audit_records_keeps_no_roster(plan, tmp_path):
    from django.db import connection

    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = _import(plan, _write(tmp_path, 5))
    assert result.added == 5
    assert not any("INSERT INTO import_seen" in sql for sql in statements)
    assert not any("INSERT INTO import_hashes" in sql for sql in statements)


def test_an_audit_roster_reports_missing_members_and_deletes_nobody(plan, tmp_path):
    _import(plan, _write(tmp_path, 10))
    result = _import(plan, _write(tmp_path, 7, maintenance="030"))
    assert result.unchanged + result.changed == 7
    assert result.missing_from_roster == 3
    missing = set(
        EnrollmentFileIssue.objects.filter(file=result, kind="missing").values_list(
            "cin", flat=True
        )
    )
    assert missing == {synthetic.cin_for(index) for index in (7, 8, 9)}
    assert Member.objects.count() == 10
    assert Enrollment.objects.filter(end_date__isnull=True).count() == 10


def test_a_prior_cin_keeps_resolving_to_the_same_member(plan, tmp_path):
    person = synthetic.member_for(0)
    existing = MemberFactory(cin=person.prior_cin, birth_date=person.birth_date)
    result = _import(plan, _write(tmp_path, 1, prior_cins={0}))
    assert result.changed == 1 or result.added == 1
    existing.refresh_from_db()
    assert existing.cin == person.cin
    assert records.member_by_cin(person.prior_cin) == existing
    assert records.member_by_cin(person.cin) == existing
    assert Member.objects.count() == 1


BAD_RECORDS = {
    "short_cin": "CIN",
    "cin_shape": "CIN",
    "no_cin": "CIN",
    "birth_date": "birth date",
    "county": "county",
    "dtp_date": "date",
    "end_before_begin": "before",
    "ins03": "INS03",
}


@pytest.mark.parametrize(("kind", "words"), BAD_RECORDS.items())
def test_a_bad_record_is_rejected_alone_with_its_reason(plan, tmp_path, kind, words):
    result = _import(plan, _write(tmp_path, 5, bad={2: kind}))
    assert result.status == EnrollmentFile.Status.DONE
    assert result.rejected == 1
    assert result.added == 4
    issue = EnrollmentFileIssue.objects.get(file=result, kind="rejected")
    assert issue.segment_number
    assert words.lower() in issue.reason.lower(), issue.reason
    assert not Member.objects.filter(cin=synthetic.cin_for(2)).exists()


@pytest.mark.parametrize("defect", synthetic.DEFECTS)
def test_a_broken_envelope_rejects_the_file_whole_and_writes_nothing(
    plan, tmp_path, defect
):
    result = _import(plan, _write(tmp_path, 5, defect=defect))
    assert result.status == EnrollmentFile.Status.REJECTED
    assert result.error
    assert not Member.objects.exists()
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty"), (b"hello, this is not an 834", "ISA"),
     (b"ISA*00*", "ISA")],
)  # fmt: skip
def test_files_that_are_not_834s_are_rejected_with_a_reason(
    plan, tmp_path, content, words
):
    path = tmp_path / "odd.x12"
    path.write_bytes(content)
    result = _import(plan, path)
    assert result.status == EnrollmentFile.Status.REJECTED
    assert words.lower() in result.error.lower(), result.error


@pytest.mark.parametrize(
    "delimiters", [("|", ">", "!", "\n"), ("^", "\\", "{", "~"), ("*", ":", "^", "~")]
)
def test_unusual_delimiters_are_read_from_the_isa(plan, tmp_path, delimiters):
    result = _import(plan, _write(tmp_path, 5, delimiters=delimiters, newline=True))
    assert result.added == 5


def test_one_audit_event_per_batch_with_the_member_ids(plan, tmp_path):
    result = _import(plan, _write(tmp_path, 12))
    events = AuditEvent.objects.filter(object_type="enrollment_import")
    assert events.count() == 1
    event = events.get()
    assert sorted(event.member_ids) == sorted(
        Member.objects.values_list("pk", flat=True)
    )
    assert event.object_id == str(result.uuid)


def test_the_command_prints_a_summary_and_fails_on_a_rejected_file(plan, tmp_path):
    output = StringIO()
    call_command("import_834", str(_write(tmp_path, 6)), "--plan", "170", stdout=output)
    text = output.getvalue()
    assert "added" in text
    assert "6" in text
    with pytest.raises(CommandError, match="rejected whole"):
        call_command(
            "import_834", str(_write(tmp_path, 3, defect="se_count")), "--plan", "170",
            stdout=StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="No plan has the plan code"):
        call_command("import_834", str(_write(tmp_path, 1)), "--plan", "999")


def test_the_same_file_imported_twice_is_claimed_once(plan, tmp_path):
    result = _import(plan, _write(tmp_path, 3))
    assert enrollment_file_import(enrollment_file=result, actor=None) == result
    assert Member.objects.count() == 3


def test_people_need_the_plan_role_to_upload(plan, cast, tmp_path):
    from django.core.exceptions import PermissionDenied

    path = _write(tmp_path, 1)
    with open(path, "rb") as source, pytest.raises(PermissionDenied):
        enrollment_file_receive(
            plan=plan, source=source, original_name="x", actor=cast.lead_care_manager
        )
    with open(path, "rb") as source, pytest.raises(PermissionDenied):
        enrollment_file_receive(
            plan=plan, source=source, original_name="x", actor=cast.plan_admin
        )  # another plan's administrator
    assert not EnrollmentFile.objects.exists()


def test_an_overlapping_span_is_refused_by_the_database(plan):
    from django.db import IntegrityError, transaction

    member = MemberFactory()
    county = County.objects.get(code="37")
    Enrollment.objects.create(
        member=member, plan=plan, county=county, start_date=timezone.localdate()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            member=member, plan=plan, county=county, start_date=timezone.localdate()
        )


def test_a_parse_failure_after_the_envelope_check_fails_the_file_clearly(
    plan, tmp_path, monkeypatch
):
    """The file changed under us (or the parser broke) after its envelope was
    checked: the parser process reports it, the import stops with FAILED and the
    reason, and no parser process is left behind."""
    import os

    from members.x12 import edi834
    from members.x12.reader import X12Error

    real = edi834.iter_member_records

    def breaks_halfway(path, **kwargs):
        for number, record in enumerate(real(path, **kwargs)):
            if number == 3:
                raise X12Error("the file ended in the middle of a segment", 42, "DMG")
            yield record

    monkeypatch.setattr(edi834, "iter_member_records", breaks_halfway)
    result = _import(plan, _write(tmp_path, 6))
    assert result.status == EnrollmentFile.Status.FAILED
    assert "ended in the middle of a segment" in result.error
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child of ours is left to reap
