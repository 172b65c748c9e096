"""Reading an ADT message (ER7) into the few fields transitions of care use.

python-hl7 reads the MSH segment: the encoding characters (MSH-1/MSH-2) and the
unescaping rules (\\F\\, \\S\\, ...). The segments are then split into fields
by the field separator here (python-hl7 would build every component of every
field, which cost more than the rest of processing an unmatched message); each
field used is split into repetitions and components by the message's own
characters and unescaped. Missing segments, fields and components read as ""
(hospitals leave most of a message empty), so a short message is not an error;
a message whose MSH python-hl7 cannot read, or without an MSH, is
(ADTParseError).

Times: HL7 TS values ("YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]") without an offset are
the sending hospital's local time; every sender here is in California, so they
are read as America/Los_Angeles.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import hl7

HOSPITAL_TIME = ZoneInfo("America/Los_Angeles")
# The field separator and encoding characters nearly every sender uses.
STANDARD_MSH = "MSH|^~\\&|"


class ADTParseError(ValueError):
    """The message cannot be read as HL7 v2 at all."""


@dataclass(frozen=True)
class Identifier:
    """One PID-3 repetition (CX): id, assigning authority (CX.4.1), type (CX.5)."""

    value: str
    authority: str = ""
    type_code: str = ""


@dataclass(frozen=True)
class Diagnosis:
    code: str
    text: str = ""
    coding_system: str = ""
    type_code: str = ""  # DG1-6: A admitting, W working, F final


@dataclass
class ADT:
    """What transitions of care reads from one ADT message."""

    trigger: str = ""
    control_id: str = ""
    sending_facility: str = ""
    message_time: datetime | None = None
    # EVN
    recorded_at: datetime | None = None  # EVN-2
    event_occurred_at: datetime | None = None  # EVN-6
    # PID
    identifiers: list[Identifier] = field(default_factory=list)
    last_name: str = ""
    first_name: str = ""
    birth_date: date | None = None
    sex: str = ""
    # PV1 / PV2
    patient_class: str = ""  # PV1-2: E emergency, I inpatient, O outpatient, ...
    location: str = ""  # PV1-3 point of care^room^bed^facility, joined
    admission_type: str = ""  # PV1-4: E emergency, U urgent, R routine, L labor ...
    visit_number: str = ""  # PV1-19 CX.1
    disposition: str = ""  # PV1-36
    admitted_at: datetime | None = None  # PV1-44
    discharged_at: datetime | None = None  # PV1-45
    admit_reason: str = ""  # PV2-3 text (or code)
    # DG1, IN1
    diagnoses: list[Diagnosis] = field(default_factory=list)
    insurance_ids: list[str] = field(default_factory=list)  # IN1-36, IN1-49

    @property
    def occurred_at(self) -> datetime | None:
        """When the event happened: EVN-6, else the PV1 time the event is about,
        else EVN-2, else MSH-7."""
        by_trigger = {
            "A01": self.admitted_at,
            "A04": self.admitted_at,
            "A03": self.discharged_at,
        }.get(self.trigger)
        return (
            self.event_occurred_at
            or by_trigger
            or self.recorded_at
            or self.message_time
        )


def parse_time(value: str) -> datetime | None:
    """An HL7 TS/DTM as an aware datetime, or None when empty or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    offset = None
    for sign in ("+", "-"):
        if sign in value[8:]:
            head, _, tail = value.rpartition(sign)
            if len(tail) == 4 and tail.isdigit():
                minutes = int(tail[:2]) * 60 + int(tail[2:])
                offset = timezone(
                    timedelta(minutes=minutes if sign == "+" else -minutes)
                )
                value = head
            break
    digits = value.split(".", 1)[0]
    if not digits.isdigit() or len(digits) < 8 or len(digits) % 2:
        return None
    padded = (digits + "000000")[:14]
    try:  # what strptime("%Y%m%d%H%M%S") reads, at a tenth of its cost
        return datetime(
            int(padded[:4]), int(padded[4:6]), int(padded[6:8]),
            int(padded[8:10]), int(padded[10:12]), int(padded[12:14]),
            tzinfo=offset or HOSPITAL_TIME,
        )  # fmt: skip
    except ValueError:
        return None


def parse_date(value: str) -> date | None:
    moment = parse_time((value or "")[:8])
    return moment.date() if moment else None


class _Reader:
    """Field access by HL7 position with the message's own separators."""

    def __init__(self, rows: list[list[str]], header):
        self.rows = rows  # per segment, its fields by HL7 position
        self.header = header  # python-hl7's reading of the MSH (unescaping)
        separators = header.separators  # segment, field, repetition, component, sub
        self.repetition = separators[2] if len(separators) > 2 else "~"
        self.component = separators[3] if len(separators) > 3 else "^"
        self.subcomponent = separators[4] if len(separators) > 4 else "&"
        self.escape = getattr(header, "esc", "\\")

    def segments(self, name: str) -> list[list[str]]:
        return [row for row in self.rows if row and row[0] == name]

    def first(self, name: str):
        found = self.segments(name)
        return found[0] if found else None

    def raw(self, segment, position: int) -> str:
        """The field's text with its separators."""
        if segment is None or position >= len(segment):
            return ""
        return segment[position]

    def repetitions(self, segment, position: int) -> list[str]:
        text = self.raw(segment, position)
        return list(text.split(self.repetition)) if text else []

    def components(self, text: str) -> list[str]:
        return text.split(self.component)

    def value(self, segment, position: int, component: int = 1) -> str:
        """Component `component` (1-based) of the field's first repetition,
        its first subcomponent, unescaped."""
        repetitions = self.repetitions(segment, position)
        if not repetitions:
            return ""
        return self.part(repetitions[0], component)

    def part(self, repetition: str, component: int = 1) -> str:
        parts = self.components(repetition)
        if component > len(parts):
            return ""
        text = parts[component - 1].split(self.subcomponent)[0]
        if self.escape not in text:
            return text.strip()
        try:
            return self.header.unescape(text).strip()
        except Exception:  # a malformed escape: keep the text as sent
            return text.strip()


def _fields(line: str) -> list[str]:
    """A segment's fields by HL7 position (STANDARD_MSH separators). As in the
    standard (and python-hl7), MSH-1 is the field separator itself."""
    if line.startswith("MSH|"):
        return ["MSH", "|", *line[4:].split("|")]
    return line.split("|")


def parse_adt(raw: str) -> ADT:
    """Read the fields transitions of care needs from an ER7 message."""
    return _parse(raw, split_here=True)


def _parse(raw: str, *, split_here: bool) -> ADT:
    """`split_here=False` has python-hl7 split every message (the tests compare
    the two readings)."""
    text = (raw or "").replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH"):
        raise ADTParseError("The message does not start with an MSH segment.")
    try:
        if split_here and text.startswith(STANDARD_MSH):
            header = hl7.parse(text.split("\r", 1)[0])
            rows = [_fields(line) for line in text.split("\r")]
        else:  # unusual separators: python-hl7 reads it all, as it always did
            header = hl7.parse(text)
            rows = [[str(field) for field in segment] for segment in header]
    except Exception as error:  # python-hl7 raises several kinds on bad input
        raise ADTParseError(
            f"Not readable as HL7 v2 ({type(error).__name__})."
        ) from error
    read = _Reader(rows, header)
    msh = read.first("MSH")
    evn = read.first("EVN")
    pid = read.first("PID")
    pv1 = read.first("PV1")
    pv2 = read.first("PV2")
    trigger = read.value(msh, 9, 2) or read.value(evn, 1)
    adt = ADT(
        trigger=trigger.upper(),
        control_id=read.value(msh, 10),
        sending_facility=read.value(msh, 4),
        message_time=parse_time(read.value(msh, 7)),
        recorded_at=parse_time(read.value(evn, 2)),
        event_occurred_at=parse_time(read.value(evn, 6)),
        last_name=read.value(pid, 5, 1),
        first_name=read.value(pid, 5, 2),
        birth_date=parse_date(read.value(pid, 7)),
        sex=read.value(pid, 8).upper()[:1],
        patient_class=read.value(pv1, 2).upper()[:1],
        location=_location(read, pv1),
        admission_type=read.value(pv1, 4).upper()[:2],
        visit_number=read.value(pv1, 19)[:64],
        disposition=read.value(pv1, 36)[:10],
        admitted_at=parse_time(read.value(pv1, 44)),
        discharged_at=parse_time(read.value(pv1, 45)),
        admit_reason=(read.value(pv2, 3, 2) or read.value(pv2, 3, 1))[:200],
    )
    for repetition in read.repetitions(pid, 3):
        value = read.part(repetition, 1)
        if value:
            adt.identifiers.append(
                Identifier(
                    value=value[:40],
                    authority=read.part(repetition, 4)[:40],
                    type_code=read.part(repetition, 5).upper()[:10],
                )
            )
    for segment in read.segments("DG1"):
        code = read.value(segment, 3, 1)
        if code:
            adt.diagnoses.append(
                Diagnosis(
                    code=code.upper().replace(".", "")[:20],
                    text=(read.value(segment, 3, 2) or read.value(segment, 4))[:200],
                    coding_system=read.value(segment, 3, 3)[:20],
                    type_code=read.value(segment, 6).upper()[:2],
                )
            )
    for segment in read.segments("IN1"):
        for position in (36, 49):
            value = read.value(segment, position)
            if value:
                adt.insurance_ids.append(value[:40])
    return adt


def _location(read: _Reader, pv1) -> str:
    repetitions = read.repetitions(pv1, 3)
    if not repetitions:
        return ""
    parts = [read.part(repetitions[0], position) for position in (1, 2, 3, 4)]
    return "-".join(part for part in parts if part)[:100]
