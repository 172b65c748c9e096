"""The 834 import's records applied to the database, a batch at a time: screened,
prepared (read and applied in memory), then written with set-based statements
(members.services.enrollment_import runs the import)."""

import os
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from calaim import bulk
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
from members.services.import_batches import Outcome, Prepared, Screened, cins_of
from members.services.import_parsing import BATCH_SIZE
from members.services.records import termination_hooks

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


class Importer:
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
    # connection; Pipeline prepares one batch while the one before it is written.

    def apply(self, records: list) -> Outcome:
        """Screen, prepare and write one batch, in the caller's transaction."""
        screened = self.screen(records)
        outcome = self.write(screened, self.prepare(screened.valid))
        self._mark_seen(outcome.seen)
        return outcome

    def screen(self, records: list) -> "Screened":
        screened = Screened()
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

    def write(self, screened: "Screened", prepared: "Prepared") -> Outcome:
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

        The parser has marked most records already (import_parsing._RepeatMarker); those
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

    def prepare(self, records) -> "Prepared":
        """Read what the records need and apply them in memory; nothing is
        written. A record that cannot apply is rejected here with its reason."""
        prepared = Prepared()
        if not records:
            return prepared
        outcome = prepared.outcome
        # Most records of a routine file are unchanged: settle those with one
        # query on CINs and hashes before loading any member.
        resolved = self._resolve_member_ids(records)
        prepared.cins = cins_of(records)
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
        # rows of the old one (Pipeline.add).
        prepared.cins = cins_of(records) | {m.cin for m in members.values()}
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

    def _commit(self, prepared: "Prepared") -> Outcome:
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
        wanted = cins_of(records)
        with connection.cursor() as cursor:
            # One index lookup per CIN, whatever the statistics say: right after
            # a large first import they still describe empty tables, and the
            # planner then scanned both tables whole for every batch (136 ms a
            # batch at 200,000 members, against 16 ms this way). The LIMIT keeps
            # the lateral subquery from being flattened into such a join.
            cursor.execute(
                "SELECT w.cin, c.member_id, "
                "(SELECT s.content_hash FROM members_memberplansnapshot s "
                "WHERE s.member_id = c.member_id AND s.plan_id = %s) "
                # One text parameter: psycopg dumps a list element by element.
                "FROM unnest(string_to_array(%s, ',')) AS w(cin) "
                "CROSS JOIN LATERAL (SELECT member_id FROM members_membercin c "
                "WHERE c.cin = w.cin LIMIT 1) c",
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
        preparing (see Pipeline): keys for the new members come from the
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
