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
from collections.abc import Iterator
from dataclasses import dataclass, field

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
    """Turns the segments of one loop 2000 into a MemberRecord."""

    def __init__(
        self,
        segments: list[Segment],
        delimiters: Delimiters,
        file_date: datetime.date | None,
    ):
        self.segments = segments
        self.delimiters = delimiters
        self.file_date = file_date
        first = segments[0]
        self.record = MemberRecord(segment_number=first.number)
        self.errors = self.record.errors
        self.masked: dict[int, set[int]] = {}  # segment index -> masked positions

    def error(self, segment: Segment | None, tag: str, element, reason: str) -> None:
        number = segment.number if segment is not None else self.record.segment_number
        self.errors.append(RecordError(number, tag, element, reason))

    def mask(self, index: int, position: int) -> None:
        self.masked.setdefault(index, set()).add(position)

    def parse(self) -> MemberRecord:
        record = self.record
        ins = ref_0f = member_name = dmg = hd = None
        loop = "2000"
        dates: dict[str, tuple[datetime.date, Segment]] = {}
        hd_dates = 0
        ref_1l = ""
        for index, segment in enumerate(self.segments):
            tag = segment.tag
            if tag == "INS" and index == 0:
                ins = segment
            elif tag == "NM1":
                qualifier = segment.get(1)
                if qualifier in ("IL", "74") and member_name is None:
                    loop = "2100A"
                    member_name = segment
                else:
                    loop = "other"
                    if qualifier in ("IL", "74"):
                        self.error(
                            segment,
                            "NM1",
                            None,
                            "a second member name in one record: the next "
                            "member's INS is missing",
                        )
                if segment.get(8) == "34":  # NM109 is an SSN
                    self.mask(index, 9)
                elif (
                    qualifier in ("IL", "74")
                    and not _is_cin(segment.get(9))
                    and _shown(segment.get(9)) == "(not shown)"
                ):
                    self.mask(index, 9)  # an SSN-shaped value under ZZ
            elif tag == "HD":
                loop = "other" if hd is not None else "2300"
                hd = hd or segment
            elif tag in ("DSB", "LX", "COB", "LS", "LE", "N1"):
                loop = "other"
            elif tag == "REF":
                qualifier = segment.get(1)
                value = segment.get(2)
                if qualifier == "0F":
                    if loop == "2000":
                        ref_0f = ref_0f or segment
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
                self._read_date(segment, loop, dates)
            elif loop == "2100A":
                if tag == "DMG":
                    dmg = dmg or segment
                elif tag == "N3":
                    record.address_line1 = segment.get(1)
                    record.address_line2 = segment.get(2)
                elif tag == "N4":
                    self._read_place(segment)
                elif tag == "PER" and segment.get(1) == "IP":
                    record.phone = self._phone(segment)
                elif (
                    tag == "LUI"
                    and not record.language
                    and segment.get(1) in ("LD", "LE")
                ):
                    record.language = segment.get(2)

        self._read_ins(ins)
        self._read_identity(member_name, ref_0f)
        self._read_birth(dmg, member_name)
        if hd is not None:
            composite = hd.get(4).split(self.delimiters.component)[0]
            record.aid_code = composite[:2] if len(composite) >= 2 else ""
            if not hd_dates:
                self.error(
                    hd, "HD", None, "health coverage (HD) without its dates (DTP)"
                )
        if not record.aid_code and len(ref_1l) >= 4:
            record.aid_code = ref_1l[2:4]
        self._read_spans(dates)
        self._finish_raw()
        return record

    def _read_ins(self, ins: Segment | None) -> None:
        record = self.record
        if ins is None:
            self.error(
                self.segments[0],
                "INS",
                None,
                "member data without an INS segment (loop 2000 must start with INS)",
            )
            return
        record.maintenance = ins.get(3)
        record.maintenance_reason = ins.get(4)
        if record.maintenance not in MAINTENANCE_TYPES:
            self.error(
                ins,
                "INS",
                3,
                f"maintenance type {record.maintenance!r} is not 021 add, 001 change, "
                "024 termination, 025 reinstatement or 030 audit",
            )

    def _read_identity(self, member_name: Segment | None, ref_0f: Segment | None):
        record = self.record
        if ref_0f is None:
            self.error(
                None, "REF", None, "no REF*0F subscriber identifier (required by 834)"
            )
        if member_name is None:
            self.error(None, "NM1", None, "no member name segment (NM1*IL)")
        else:
            record.last_name = member_name.get(3)
            record.first_name = member_name.get(4)
            record.middle_name = member_name.get(5)
            if not record.last_name:
                self.error(member_name, "NM1", 3, "the member's last name is empty")
        if member_name is not None and member_name.get(8) == "ZZ":
            value = normalize_cin(member_name.get(9))
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
        if ref_0f is not None and _is_cin(ref_0f.get(2)):
            record.cin = normalize_cin(ref_0f.get(2))
            return
        self.error(
            member_name or ref_0f,
            "NM1" if member_name is not None else "REF",
            9 if member_name is not None else 2,
            "no CIN: NM1*IL has no NM108 ZZ identifier and REF*0F does not hold a CIN",
        )

    def _read_birth(self, dmg: Segment | None, member_name: Segment | None) -> None:
        record = self.record
        if dmg is None:
            if member_name is not None:
                self.error(
                    None, "DMG", None, "no DMG segment: the birth date is missing"
                )
            else:
                self.error(None, "DMG", None, "the birth date is missing")
            return
        value = dmg.get(2)
        birth = parse_date(value) if dmg.get(1) == "D8" else None
        if not value:
            self.error(dmg, "DMG", 2, "the birth date is empty")
        elif dmg.get(1) != "D8":
            self.error(
                dmg, "DMG", 1, f"date format {dmg.get(1)!r} is not D8 (CCYYMMDD)"
            )
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
        sex = dmg.get(3)
        if sex in SEXES:
            record.sex = sex
        else:
            self.error(dmg, "DMG", 3, f"sex {sex!r} is not F, M or U")

    def _read_place(self, n4: Segment) -> None:
        record = self.record
        record.city = n4.get(1)
        record.state = n4.get(2)
        record.zip = n4.get(3)
        if n4.get(5) != "CY":
            return
        code = n4.get(6)[:2]
        if len(code) == 2 and code.isdigit() and 1 <= int(code) <= 58:
            record.county_code = code
        else:
            self.error(
                n4,
                "N4",
                6,
                f"county code {code!r} is not a California county code (01-58)",
            )

    def _phone(self, per: Segment) -> str:
        numbers = {per.get(position): per.get(position + 1) for position in (3, 5, 7)}
        for qualifier in PHONE_QUALIFIERS:
            if numbers.get(qualifier):
                return numbers[qualifier]
        return ""

    def _read_date(self, dtp: Segment, loop: str, dates: dict) -> None:
        qualifier, form, value = dtp.get(1), dtp.get(2), dtp.get(3)
        name = DATE_NAMES.get(qualifier, f"DTP*{qualifier} date")
        if form == "D8":
            parts = [value]
        elif form == "RD8":
            parts = value.split("-")
            if len(parts) != 2:
                self.error(
                    dtp, "DTP", 3, f"{name} range {value!r} is not CCYYMMDD-CCYYMMDD"
                )
                return
        else:
            self.error(dtp, "DTP", 2, f"date format {form!r} is not D8 or RD8")
            return
        parsed = []
        for part in parts:
            day = parse_date(part)
            if day is None:
                self.error(dtp, "DTP", 3, f"{name} {part!r} is not a real date")
                return
            parsed.append(day)
        if len(parsed) == 2 and parsed[1] < parsed[0]:
            self.error(dtp, "DTP", 3, f"{name} range {value} ends before it begins")
            return
        wanted = {"2000": ("356", "357"), "2300": ("348", "349")}.get(loop, ())
        if qualifier not in wanted or qualifier in dates:
            return
        if form == "RD8":  # a range gives the begin and the end at once
            begin, end = wanted
            dates.setdefault(begin, (parsed[0], dtp))
            dates.setdefault(end, (parsed[1], dtp))
        else:
            dates[qualifier] = (parsed[0], dtp)

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
        """Re-join with * : ^ ~, masking SSNs; hash the same text minus bookkeeping."""
        delimiters = self.delimiters
        table = None
        if (delimiters.component, delimiters.repetition) != (":", "^"):
            replacements = {delimiters.component: ":"}
            if delimiters.repetition:
                replacements[delimiters.repetition] = "^"
            table = str.maketrans(replacements)
        masked = self.masked
        raw_parts = []
        hash_parts = []
        for index, segment in enumerate(self.segments):
            elements = segment.elements
            if index in masked or elements[-1] == "" or table is not None:
                elements = list(elements)
                while len(elements) > 1 and elements[-1] == "":
                    elements.pop()
                for position in masked.get(index, ()):
                    if position < len(elements) and elements[position]:
                        elements[position] = MASK
                if table is not None:
                    elements = [element.translate(table) for element in elements]
            text = "*".join(elements)
            raw_parts.append(text)
            tag = segment.tag
            if tag in HASH_SKIPPED_ELEMENTS:
                skipped = HASH_SKIPPED_ELEMENTS[tag]
                text = "*".join(
                    "" if position in skipped else element
                    for position, element in enumerate(elements)
                )
            elif tag == "DTP" and segment.get(1) in HASH_SKIPPED_DATES:
                continue
            hash_parts.append(text)
        self.record.raw = "~".join(raw_parts) + "~"
        self.record.content_hash = hashlib.sha256(
            ("~".join(hash_parts) + "~").encode()
        ).hexdigest()


def _is_header(segment: Segment) -> bool:
    tag = segment.tag
    if tag in HEADER_TAGS:
        return True
    qualifiers = HEADER_QUALIFIERS.get(tag)
    return qualifiers is not None and segment.get(1) in qualifiers


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
    current: list[Segment] | None = None
    file_date = None
    for segment in reader:
        envelope.feed(segment)
        tag = segment.tag
        if tag == "INS":
            if current:
                yield _RecordParser(current, reader.delimiters, file_date).parse()
            current = [segment]
        elif tag == "SE":
            if current:
                yield _RecordParser(current, reader.delimiters, file_date).parse()
            current = None
        elif current is not None:
            current.append(segment)
        elif tag == "BGN":
            file_date = parse_date(segment.get(3))
        elif envelope.st is not None and tag != "ST" and not _is_header(segment):
            current = [segment]  # member data that lost its INS
    envelope.finish()
