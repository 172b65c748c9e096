"""Member records (loop 2000) of a DHCS 834, read one at a time.

A record runs from one INS to the next INS or SE. Each is parsed into a
`MemberRecord` with its own list of `RecordError`s, because DOMAIN.md §10a says
a bad record is rejected alone while the others in the file land. Faults in the
envelope are different: they raise `X12Error` (see `reader.check_envelope`).

Two rules about identifiers shape this module. The CIN comes from NM1*IL NM109
when NM108 is "ZZ" (MEDS-derived files), otherwise from REF*0F only when that
value has the CIN shape. In MEDS files REF*0F carries the SSN/MEDS ID, which the
application never stores: it is masked in `raw`, left out of the content hash and
of every field, as is any NM109 qualified "34" (SSN) and any REF*Q4 prior ID
that is not a CIN.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from sys import intern

from calaim.validators import CIN_PATTERN, normalize_cin
from members.x12.reader import (
    CHUNK_SIZE,
    Delimiters,
    Envelope,
    Segment,
    SegmentReader,
    Source,
    parse_date,
)

MAINTENANCE_TYPES = {
    "021": "add",
    "001": "change",
    "024": "termination",
    "025": "reinstatement",
    "030": "audit",
}
SEXES = ("F", "M", "U")
MASK = "XXXXXXXXX"
EARLIEST_BIRTH = datetime.date(1880, 1, 1)
# Header segments between BGN and the first INS; anything else there is member
# data that lost its INS.
HEADER_TAGS = {"BGN", "QTY", "N1", "ACT"}
HEADER_QUALIFIERS = {"REF": {"38"}, "DTP": {"007", "090", "091", "303", "382", "388"}}
# Maintenance bookkeeping left out of the content hash: an audit roster line (030)
# that repeats the stored member, or the same member re-sent with a new effective
# date, is the same content.
HASH_SKIPPED_ELEMENTS = {"INS": (3, 4), "HD": (1,)}
HASH_SKIPPED_DATES = {"303"}
DATE_NAMES = {
    "356": "eligibility begin",
    "357": "eligibility end",
    "348": "coverage begin",
    "349": "coverage end",
}
PHONE_QUALIFIERS = ("TE", "HP", "CP")
# Segments that end the member's loops (2000, 2100A, 2300).
LOOP_ENDS = frozenset({"DSB", "LX", "COB", "LS", "LE", "N1"})
# The DTP qualifiers a loop's span comes from: (begin, end).
WANTED_DATES = {"2000": ("356", "357"), "2300": ("348", "349")}
NORMAL_DELIMITERS = Delimiters("*", ":", "^", "~")


@dataclass(frozen=True)
class RecordError:
    segment_number: int
    segment: str  # the segment tag, e.g. "DMG"
    element: int | None  # position, e.g. 2 for DMG02; None for a whole segment
    reason: str

    def __str__(self) -> str:
        where = self.segment
        if self.element is not None:
            where += f"{self.element:02d}"
        return f"segment {self.segment_number} {where}: {self.reason}"


@dataclass
class MemberRecord:
    segment_number: int  # of its INS (of its first segment when INS is missing)
    maintenance: str = ""  # INS03
    maintenance_reason: str = ""  # INS04
    cin: str = ""
    prior_ids: list[str] = field(default_factory=list)  # CIN-shaped REF*Q4 only
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    birth_date: datetime.date | None = None
    sex: str = ""
    language: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    county_code: str = ""
    aid_code: str = ""
    eligibility_begin: datetime.date | None = None
    eligibility_end: datetime.date | None = None
    coverage_begin: datetime.date | None = None
    coverage_end: datetime.date | None = None
    raw: str = ""
    content_hash: str = ""
    errors: list[RecordError] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def maintenance_name(self) -> str:
        return MAINTENANCE_TYPES.get(self.maintenance, self.maintenance)


def _is_cin(value: str) -> bool:
    return bool(CIN_PATTERN.match(normalize_cin(value)))


def _shown(value: str) -> str:
    """A bad identifier for an error message, unless it could be an SSN."""
    digits = value.replace("-", "").replace(" ", "")
    return "(not shown)" if digits.isdigit() and len(digits) >= 9 else repr(value)


class _RecordParser:
    """Turns the segments of one loop 2000 into a MemberRecord.

    A segment is its list of elements (the tag first), as SegmentReader.runs()
    gives it; the segments of a record are numbered one after the other, so a
    segment is named by its index and its number is `first` plus that index.

    Codes, places and names are interned: a file repeats them, and one object per
    value keeps records small and lets pickle (the importer sends records to its
    writer that way) write a repeated value as a reference to the first.
    """

    def __init__(
        self,
        first: int,
        segments: list[list[str]],
        delimiters: Delimiters,
        file_date: datetime.date | None,
        table: dict | None,
    ):
        self.first = first
        self.segments = segments
        self.delimiters = delimiters
        self.file_date = file_date
        self.table = table  # _normalizing_table(delimiters), made once per file
        self.record = MemberRecord(segment_number=first)
        self.errors = self.record.errors
        self.masked: dict[int, set[int]] = {}  # segment index -> masked positions
        # Segments the content hash leaves out in part or whole (HASH_SKIPPED_*).
        self.bookkeeping: list[int] = []

    def error(self, index: int | None, tag: str, element, reason: str) -> None:
        """A fault of the segment at `index`, or of the record when None."""
        number = self.first if index is None else self.first + index
        self.errors.append(RecordError(number, tag, element, reason))

    def mask(self, index: int, position: int) -> None:
        self.masked.setdefault(index, set()).add(position)

    def parse(self) -> MemberRecord:
        record = self.record
        segments = self.segments
        # Indexes of the segments read once all are seen.
        ins = ref_0f = member_name = dmg = hd = None
        loop = "2000"
        dates: dict[str, tuple[datetime.date, int]] = {}
        hd_dates = 0
        ref_1l = ""
        # The most frequent tags first (each branch names its own tag, so their
        # order changes nothing else).
        for index, segment in enumerate(segments):
            tag = segment[0]
            if tag == "REF":
                qualifier = segment[1] if len(segment) > 1 else ""
                value = segment[2] if len(segment) > 2 else ""
                if qualifier == "0F":
                    if loop == "2000" and ref_0f is None:
                        ref_0f = index
                    if not _is_cin(value):
                        self.mask(index, 2)  # the SSN/MEDS ID, wherever it sits
                elif qualifier == "Q4":
                    if _is_cin(value):
                        record.prior_ids.append(normalize_cin(value))
                    else:
                        self.mask(index, 2)
                elif qualifier == "1L" and loop in ("2000", "2300") and not ref_1l:
                    ref_1l = value
            elif tag == "DTP":
                if loop == "2300":
                    hd_dates += 1
                if _element(segment, 1) in HASH_SKIPPED_DATES:
                    self.bookkeeping.append(index)
                self._read_date(index, loop, dates)
            elif tag == "NM1":
                nm1 = _padded(segment, 10)
                qualifier = nm1[1]
                if qualifier in ("IL", "74") and member_name is None:
                    loop = "2100A"
                    member_name = index
                else:
                    loop = "other"
                    if qualifier in ("IL", "74"):
                        self.error(
                            index,
                            "NM1",
                            None,
                            "a second member name in one record: the next "
                            "member's INS is missing",
                        )
                if nm1[8] == "34":  # NM109 is an SSN
                    self.mask(index, 9)
                elif (
                    qualifier in ("IL", "74")
                    and not _is_cin(nm1[9])
                    and _shown(nm1[9]) == "(not shown)"
                ):
                    self.mask(index, 9)  # an SSN-shaped value under ZZ
            elif tag == "HD":
                loop = "other" if hd is not None else "2300"
                if hd is None:
                    hd = index
                self.bookkeeping.append(index)
            elif tag == "INS":
                if index == 0:
                    ins = index
                self.bookkeeping.append(index)
            elif tag in LOOP_ENDS:
                loop = "other"
            elif loop == "2100A":
                if tag == "DMG":
                    if dmg is None:
                        dmg = index
                elif tag == "N3":
                    record.address_line1 = segment[1] if len(segment) > 1 else ""
                    record.address_line2 = segment[2] if len(segment) > 2 else ""
                elif tag == "N4":
                    self._read_place(index)
                elif tag == "PER" and _element(segment, 1) == "IP":
                    record.phone = _phone(segment)
                elif (
                    tag == "LUI"
                    and not record.language
                    and _element(segment, 1) in ("LD", "LE")
                ):
                    record.language = intern(_element(segment, 2))

        self._read_ins(ins)
        self._read_identity(member_name, ref_0f)
        self._read_birth(dmg, member_name)
        if hd is not None:
            composite = _element(segments[hd], 4).split(self.delimiters.component)[0]
            record.aid_code = intern(composite[:2]) if len(composite) >= 2 else ""
            if not hd_dates:
                self.error(
                    hd, "HD", None, "health coverage (HD) without its dates (DTP)"
                )
        if not record.aid_code and len(ref_1l) >= 4:
            record.aid_code = intern(ref_1l[2:4])
        self._read_spans(dates)
        self._finish_raw()
        return record

    def _read_ins(self, ins: int | None) -> None:
        record = self.record
        if ins is None:
            self.error(
                0,
                "INS",
                None,
                "member data without an INS segment (loop 2000 must start with INS)",
            )
            return
        record.maintenance, record.maintenance_reason = map(
            intern, _padded(self.segments[ins], 5)[3:5]
        )
        if record.maintenance not in MAINTENANCE_TYPES:
            self.error(
                ins,
                "INS",
                3,
                f"maintenance type {record.maintenance!r} is not 021 add, 001 change, "
                "024 termination, 025 reinstatement or 030 audit",
            )

    def _read_identity(self, member_name: int | None, ref_0f: int | None):
        record = self.record
        if ref_0f is None:
            self.error(
                None, "REF", None, "no REF*0F subscriber identifier (required by 834)"
            )
        nm1 = None
        if member_name is None:
            self.error(None, "NM1", None, "no member name segment (NM1*IL)")
        else:
            nm1 = _padded(self.segments[member_name], 10)
            record.last_name, record.first_name, record.middle_name = map(
                intern, nm1[3:6]
            )
            if not record.last_name:
                self.error(member_name, "NM1", 3, "the member's last name is empty")
        if nm1 is not None and nm1[8] == "ZZ":
            value = normalize_cin(nm1[9])
            if not value:
                self.error(member_name, "NM1", 9, "NM108 is ZZ but the CIN is empty")
            elif CIN_PATTERN.match(value):
                record.cin = value
            else:
                self.error(
                    member_name,
                    "NM1",
                    9,
                    f"CIN {_shown(value)} is not a CIN (9 characters: a 9, seven "
                    "digits, a letter; or a 14-character BIC ID)",
                )
            return
        if ref_0f is not None:
            value = _element(self.segments[ref_0f], 2)
            if _is_cin(value):
                record.cin = normalize_cin(value)
                return
        self.error(
            member_name if member_name is not None else ref_0f,
            "NM1" if member_name is not None else "REF",
            9 if member_name is not None else 2,
            "no CIN: NM1*IL has no NM108 ZZ identifier and REF*0F does not hold a CIN",
        )

    def _read_birth(self, dmg: int | None, member_name: int | None) -> None:
        record = self.record
        if dmg is None:
            if member_name is not None:
                self.error(
                    None, "DMG", None, "no DMG segment: the birth date is missing"
                )
            else:
                self.error(None, "DMG", None, "the birth date is missing")
            return
        _, form, value, sex = _padded(self.segments[dmg], 4)[:4]
        birth = parse_date(value) if form == "D8" else None
        if not value:
            self.error(dmg, "DMG", 2, "the birth date is empty")
        elif form != "D8":
            self.error(dmg, "DMG", 1, f"date format {form!r} is not D8 (CCYYMMDD)")
        elif birth is None:
            self.error(dmg, "DMG", 2, f"birth date {value} is not a real date")
        elif birth < EARLIEST_BIRTH:
            self.error(dmg, "DMG", 2, f"birth date {value} is before 1880")
        elif self.file_date is not None and birth > self.file_date:
            self.error(
                dmg,
                "DMG",
                2,
                f"birth date {value} is after the file date {self.file_date:%Y%m%d}",
            )
        else:
            record.birth_date = birth
        if sex in SEXES:
            record.sex = intern(sex)
        else:
            self.error(dmg, "DMG", 3, f"sex {sex!r} is not F, M or U")

    def _read_place(self, index: int) -> None:
        record = self.record
        n4 = _padded(self.segments[index], 7)
        record.city, record.state, record.zip = map(intern, n4[1:4])
        qualifier, county = n4[5], n4[6]
        if qualifier != "CY":
            return
        code = county[:2]
        if len(code) == 2 and code.isdigit() and 1 <= int(code) <= 58:
            record.county_code = intern(code)
        else:
            self.error(
                index,
                "N4",
                6,
                f"county code {code!r} is not a California county code (01-58)",
            )

    def _read_date(self, index: int, loop: str, dates: dict) -> None:
        _, qualifier, form, value = _padded(self.segments[index], 4)[:4]
        if form == "D8":
            parts = [value]
        elif form == "RD8":
            parts = value.split("-")
            if len(parts) != 2:
                self.error(
                    index,
                    "DTP",
                    3,
                    f"{_date_name(qualifier)} range {value!r} is not CCYYMMDD-CCYYMMDD",
                )
                return
        else:
            self.error(index, "DTP", 2, f"date format {form!r} is not D8 or RD8")
            return
        parsed = [parse_date(part) for part in parts]
        if None in parsed:
            part = parts[parsed.index(None)]
            self.error(
                index, "DTP", 3, f"{_date_name(qualifier)} {part!r} is not a real date"
            )
            return
        if len(parsed) == 2 and parsed[1] < parsed[0]:
            self.error(
                index,
                "DTP",
                3,
                f"{_date_name(qualifier)} range {value} ends before it begins",
            )
            return
        wanted = WANTED_DATES.get(loop, ())
        if qualifier not in wanted or qualifier in dates:
            return
        if form == "RD8":  # a range gives the begin and the end at once
            begin, end = wanted
            dates.setdefault(begin, (parsed[0], index))
            dates.setdefault(end, (parsed[1], index))
        else:
            dates[qualifier] = (parsed[0], index)

    def _read_spans(self, dates: dict) -> None:
        record = self.record
        for begin_code, end_code, begin_attr, end_attr in (
            ("356", "357", "eligibility_begin", "eligibility_end"),
            ("348", "349", "coverage_begin", "coverage_end"),
        ):
            begin = dates.get(begin_code)
            end = dates.get(end_code)
            if begin:
                setattr(record, begin_attr, begin[0])
            if end:
                setattr(record, end_attr, end[0])
            if begin and end and end[0] < begin[0]:
                self.error(
                    end[1],
                    "DTP",
                    3,
                    f"{DATE_NAMES[end_code]} {end[0]:%Y%m%d} is before its begin "
                    f"{begin[0]:%Y%m%d}",
                )
        if (
            record.maintenance == "024"
            and record.eligibility_end is None
            and record.coverage_end is None
        ):
            self.error(
                None,
                "INS",
                3,
                "a termination (024) needs an end date (DTP*357 or DTP*349)",
            )

    def _finish_raw(self) -> None:
        """Re-join with * : ^ ~, masking SSNs; hash the same text minus bookkeeping.

        Most segments are joined as they are; only those that differ from a plain
        join (masked, with empty trailing elements, or in a file with other
        component or repetition separators) are rebuilt one by one.
        """
        segments = self.segments
        table = self.table
        normalized = {
            index: _normalized(segments[index], positions, table)
            for index, positions in self.masked.items()
        }
        parts = list(map("*".join, segments))
        for index, elements in normalized.items():
            parts[index] = "*".join(elements)
        raw = "~".join(parts) + "~"
        # Empty trailing elements leave "*~" in a plain join: those segments, and
        # all of them when the separators differ, are rebuilt as well.
        if table is not None or "*~" in raw:
            for index, segment in enumerate(segments):
                if index not in normalized and (segment[-1] == "" or table is not None):
                    normalized[index] = elements = _normalized(segment, (), table)
                    parts[index] = "*".join(elements)
            raw = "~".join(parts) + "~"
        self.record.raw = raw
        # The content hash leaves out maintenance bookkeeping (HASH_SKIPPED_*).
        hashed = list(parts)
        for index in self.bookkeeping:
            segment = segments[index]
            skipped = HASH_SKIPPED_ELEMENTS.get(segment[0])
            if skipped:
                elements = list(normalized.get(index, segment))
                for position in skipped:
                    if position < len(elements):
                        elements[position] = ""
                hashed[index] = "*".join(elements)
            elif _element(segment, 1) in HASH_SKIPPED_DATES:
                hashed[index] = None
        if None in hashed:
            hashed = [part for part in hashed if part is not None]
        text = "~".join(hashed) + "~"
        self.record.content_hash = hashlib.sha256(text.encode()).hexdigest()


def _normalizing_table(delimiters: Delimiters) -> dict | None:
    """The translation to the usual : and ^ separators, None when not needed."""
    if (delimiters.component, delimiters.repetition) == (":", "^"):
        return None
    replacements = {delimiters.component: ":"}
    if delimiters.repetition:
        replacements[delimiters.repetition] = "^"
    return str.maketrans(replacements)


def _normalized(
    segment: list[str], masked: Iterable[int], table: dict | None
) -> list[str]:
    """The elements as raw shows them: without empty trailing elements, with the
    masked positions masked, in the usual separators."""
    elements = list(segment)
    while len(elements) > 1 and elements[-1] == "":
        elements.pop()
    for position in masked:
        if position < len(elements) and elements[position]:
            elements[position] = MASK
    if table is not None:
        elements = [element.translate(table) for element in elements]
    return elements


def _element(segment: list[str], position: int) -> str:
    """Element at `position` (1-based like X12's XX01), "" when absent."""
    return segment[position] if position < len(segment) else ""


def _padded(segment: list[str], length: int) -> list[str]:
    """The segment with at least `length` entries, absent elements read as "":
    one call per segment instead of one per element read."""
    missing = length - len(segment)
    return segment + [""] * missing if missing > 0 else segment


def _date_name(qualifier: str) -> str:
    return DATE_NAMES.get(qualifier) or f"DTP*{qualifier} date"


def _phone(per: list[str]) -> str:
    # PER03/04, 05/06 and 07/08 are qualifier and number; a later pair wins.
    numbers = dict(zip(per[3:9:2], per[4:9:2], strict=False))
    for qualifier in PHONE_QUALIFIERS:
        if numbers.get(qualifier):
            return numbers[qualifier]
    return ""


def _is_header(segment: list[str]) -> bool:
    tag = segment[0]
    if tag in HEADER_TAGS:
        return True
    qualifiers = HEADER_QUALIFIERS.get(tag)
    return qualifiers is not None and _element(segment, 1) in qualifiers


def iter_member_records(
    source: Source, *, chunk_size: int = CHUNK_SIZE
) -> Iterator[MemberRecord]:
    """Yield each member record (loop 2000) of an 834, streaming.

    The envelope is checked along the way and a fault raises X12Error, but only
    when it is reached, after earlier records were yielded: call
    `check_envelope()` first when nothing may be written from a broken file.
    """
    reader = SegmentReader(source, chunk_size=chunk_size)
    envelope = Envelope()
    watched = Envelope.WATCHED
    make = tuple.__new__  # Segment(...) without NamedTuple's extra call layer
    current: list[list[str]] | None = None
    first = 0  # number of current's first segment
    file_date = None
    # Inside a transaction, past its BGN, a segment the envelope does not watch
    # only counts: those are counted in bulk when the next segment is fed.
    inside = False
    number = fed = 0  # fed: number of the last segment fed to the envelope
    for start, segments in reader.runs():
        delimiters = reader.delimiters
        table = _normalizing_table(delimiters)
        number = start - 1
        for segment in segments:
            number += 1
            tag = segment[0]
            if not inside or tag in watched:
                envelope.count(number - fed - 1)
                envelope.feed(make(Segment, (number, tag, segment)))
                fed = number
                inside = envelope.counts_only()
            if tag == "INS":
                if current:
                    yield _RecordParser(
                        first, current, delimiters, file_date, table
                    ).parse()
                current = [segment]
                first = number
            elif tag == "SE":
                if current:
                    yield _RecordParser(
                        first, current, delimiters, file_date, table
                    ).parse()
                current = None
            elif current is not None:
                current.append(segment)
            elif tag == "BGN":
                file_date = parse_date(_element(segment, 3))
            elif envelope.st is not None and tag != "ST" and not _is_header(segment):
                current = [segment]  # member data that lost its INS
                first = number
    envelope.count(number - fed)
    envelope.finish()
