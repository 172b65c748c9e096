"""X12 tokenizer and envelope check for 834 files, streaming.

An 834 from DHCS can hold hundreds of thousands of members, often on one physical
line, so nothing here reads the whole file: bytes come in chunks, the partial
segment at the end of a chunk is carried over, and memory stays flat however big
the file is. Segments are numbered from 1 in file order; that number is what
error messages call the "line", since the file usually has only one.

The delimiters are never assumed. They are read from the ISA segment, which is
fixed width (106 characters with its terminator): the element separator is the
4th character, the repetition separator ISA11, the component separator ISA16
and the segment terminator the character right after ISA16.
"""

from __future__ import annotations

import codecs
import datetime
import functools
import os
import re
from collections.abc import Iterator
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

CHUNK_SIZE = 1 << 20
ISA_LENGTH = 106
# Widths of ISA00 (the tag) to ISA16; the separators sit between them.
ISA_WIDTHS = (3, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
# No real segment comes near this; a longer one means a wrong terminator, and
# refusing it keeps memory bounded.
MAX_SEGMENT_LENGTH = 100_000
# Segments handed on at a time by SegmentReader.runs().
RUN_LENGTH = 1000
FILE_KINDS = {"2": "change", "4": "verify", "RX": "replace"}
NEWLINES = "\r\n"

Source = str | os.PathLike | BinaryIO


class X12Error(Exception):
    """A fault that makes the whole file unusable: the importer writes nothing."""

    def __init__(
        self, reason: str, segment_number: int | None = None, tag: str | None = None
    ):
        self.reason = reason
        self.segment_number = segment_number
        self.tag = tag
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.segment_number is None:
            return self.reason
        where = f"segment {self.segment_number}"
        if self.tag:
            where += f" {self.tag}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    repetition: str
    segment: str

    @classmethod
    def from_isa(cls, isa: str) -> Delimiters:
        """Read the delimiters from a fixed-width ISA (at least 106 characters).

        Raises X12Error when the ISA does not have its fixed layout, since a
        guess at the delimiters would misread every segment after it.
        """
        if not isa.startswith("ISA"):
            raise X12Error(
                "not an X12 file: it does not start with an ISA segment", 1, "ISA"
            )
        if len(isa) < ISA_LENGTH:
            raise X12Error(
                f"truncated ISA: {len(isa)} characters where the fixed-width ISA "
                f"needs {ISA_LENGTH}",
                1,
                "ISA",
            )
        element = isa[3]
        fields = isa[: ISA_LENGTH - 1].split(element)
        widths = tuple(len(field) for field in fields)
        if widths != ISA_WIDTHS:
            raise X12Error(
                "the ISA segment is not the fixed-width 106 characters X12 requires "
                f"(field widths {widths})",
                1,
                "ISA",
            )
        component = fields[16]
        segment = isa[ISA_LENGTH - 1]
        repetition = fields[11]
        if repetition.isalnum() or repetition in (element, component, segment):
            repetition = ""  # 004010 files carry "U" here: no repetition separator
        if (
            segment.isalnum()
            or segment == " "
            or len({element, component, segment}) < 3
        ):
            raise X12Error(
                "the ISA segment does not define distinct element, component and "
                "segment delimiters",
                1,
                "ISA",
            )
        return cls(element, component, repetition, segment)


class Segment(NamedTuple):
    number: int
    tag: str
    elements: list[str]

    def get(self, position: int) -> str:
        """Element at `position` (1-based like X12's XX01), "" when absent."""
        elements = self.elements
        return elements[position] if position < len(elements) else ""


class SegmentReader:
    """Iterates the segments of one X12 file; `delimiters` is set once started."""

    def __init__(self, source: Source, *, chunk_size: int = CHUNK_SIZE):
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.source = source
        self.chunk_size = chunk_size
        self.delimiters: Delimiters | None = None

    def _open(self):
        if isinstance(self.source, str | os.PathLike):
            return open(self.source, "rb")  # noqa: SIM115 - closed by the with below
        return nullcontext(self.source)

    def __iter__(self) -> Iterator[Segment]:
        make = tuple.__new__  # Segment(...) without NamedTuple's extra call layer
        for number, segments in self.runs():
            for elements in segments:
                yield make(Segment, (number, elements[0], elements))
                number += 1

    def pieces(self) -> Iterator[tuple[int, str, str]]:
        """(number, tag, text) of each segment, its elements not yet split: the
        envelope check needs only the tag of most segments."""
        with self._open() as stream:
            for number, texts in self._runs(stream, split=False):
                separator = self.delimiters.element
                for text in texts:
                    yield number, text.partition(separator)[0], text
                    number += 1

    def runs(self) -> Iterator[tuple[int, list[list[str]]]]:
        """The segments read from each chunk, as lists of elements (the tag
        first), with the number of the first of them; they are numbered without
        gaps. The member-record reader walks these lists itself: no Python
        object and no generator step per segment, which were a third of it."""
        with self._open() as stream:
            yield from self._runs(stream, split=True)

    def _runs(self, stream: BinaryIO, *, split: bool) -> Iterator[tuple[int, list]]:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        # Read until the ISA is complete (a tiny chunk size needs several reads).
        while True:
            chunk = stream.read(self.chunk_size)
            pending += decoder.decode(chunk, final=not chunk)
            pending = pending.lstrip("\ufeff" + NEWLINES)
            if not chunk or len(pending) >= ISA_LENGTH:
                break
        if not pending.strip():
            raise X12Error("the file is empty")
        if not pending.startswith("ISA"):
            raise X12Error("not an X12 file: it does not start with an ISA segment")
        self.delimiters = delimiters = Delimiters.from_isa(pending)
        terminator, separator = delimiters.segment, delimiters.element
        number = 0  # segments before this chunk's
        tag = ""
        checked_tags: set[str] = set()
        while True:
            # Newlines between segments are tolerated; most files have none.
            newlines = "\n" in pending or "\r" in pending
            texts = pending.split(terminator)
            pending = texts.pop()
            if newlines:
                texts = [text.strip(NEWLINES) for text in texts]
            if "" in texts:  # empty segments are skipped, not numbered
                texts = [text for text in texts if text]
            # In runs of RUN_LENGTH: a whole chunk's segments alive at once made
            # the garbage collector's full passes slow.
            for start in range(0, len(texts), RUN_LENGTH):
                run = texts[start : start + RUN_LENGTH]
                if split:
                    items = [text.split(separator) for text in run]
                    tags = [elements[0] for elements in items]
                else:
                    items = run
                    tags = [text.partition(separator)[0] for text in run]
                bad = _first_bad_tag(tags, checked_tags)
                if bad is not None:
                    if bad:
                        yield number + 1, items[:bad]
                    raise X12Error(
                        f"{tags[bad][:10]!r} is not a segment identifier (is the "
                        "file corrupt or cut?)",
                        number + bad + 1,
                    )
                yield number + 1, items
                number += len(items)
                tag = tags[-1]
            if len(pending) > MAX_SEGMENT_LENGTH:
                raise X12Error(
                    f"segment longer than {MAX_SEGMENT_LENGTH} characters: the "
                    f"segment terminator {terminator!r} from the ISA is not used",
                    number + 1,
                )
            chunk = stream.read(self.chunk_size)
            if not chunk:
                break
            pending += decoder.decode(chunk)
        pending += decoder.decode(b"", final=True)
        rest = pending.strip(NEWLINES + " \t\x00\x1a")
        if rest:
            raise X12Error(
                "truncated file: it ends in the middle of a segment (no segment "
                "terminator after the last one)",
                number + 1,
                rest.split(separator, 1)[0][:3],
            )
        if tag != "IEA":
            raise X12Error(
                "truncated file: it ends without the IEA interchange trailer",
                number,
                tag,
            )


def _is_tag(tag: str) -> bool:
    return 2 <= len(tag) <= 3 and tag.isalnum() and tag.isupper()


def _first_bad_tag(tags: list[str], checked: set[str]) -> int | None:
    """Index of the first tag that is not a segment identifier, None when all
    are. A file uses a few dozen tags: each is checked once, in `checked`."""
    new = set(tags) - checked
    if all(_is_tag(tag) for tag in new):
        checked |= new
        return None
    return next(index for index, tag in enumerate(tags) if not _is_tag(tag))


def iter_segments(source: Source, *, chunk_size: int = CHUNK_SIZE) -> Iterator[Segment]:
    """Yield every segment of an X12 file (a path or a binary file), streaming."""
    return iter(SegmentReader(source, chunk_size=chunk_size))


@dataclass(frozen=True)
class EnvelopeSummary:
    interchange_control: str  # ISA13
    sender: str  # ISA06
    receiver: str  # ISA08
    interchange_date: datetime.date | None  # ISA09
    usage: str  # ISA15: P production, T test
    file_kind: str  # BGN08: "2" change, "4" verify, "RX" replace
    file_date: datetime.date | None  # BGN03 of the first transaction
    sponsor_id: str  # N1*P5 N104
    payer_id: str  # N1*IN N104
    transactions: int
    member_records: int  # INS segments
    segments: int
    delimiters: Delimiters
    audit_records: int = 0  # INS segments of maintenance type 030 (audit roster)

    @property
    def file_kind_name(self) -> str:
        return FILE_KINDS.get(self.file_kind, self.file_kind)


@functools.lru_cache(maxsize=1 << 15)
def parse_date(value: str) -> datetime.date | None:
    """CCYYMMDD to a date; None when it is not a real calendar date.

    Cached: a file repeats its dates (spans begin on the first of a month), and
    one date object per value also lets pickle send a repeated date as a
    reference to the first (the 834 importer pickles records in batches).
    """
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        if value.isascii():  # CCYYMMDD is ISO 8601's basic form: parsed in C
            return datetime.date.fromisoformat(value)
        return datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _same_control(first: str, second: str) -> bool:
    first, second = first.strip(), second.strip()
    if first.isdigit() and second.isdigit():
        return int(first) == int(second)
    return first == second


def _count(segment: Segment, position: int) -> int:
    value = segment.get(position).strip()
    if not value.isdigit():
        raise X12Error(
            f"{segment.tag}{position:02d} {value!r} is not a count",
            segment.number,
            segment.tag,
        )
    return int(value)


class Envelope:
    """Checks ISA/IEA, GS/GE and ST/SE as segments stream past.

    Feed every segment in order, then call `finish()`. Any fault raises X12Error:
    the file is rejected whole (DOMAIN.md §10a), so the reader never has to
    decide which members a broken envelope still vouches for.
    """

    WATCHED = frozenset({"SE", "INS", "N1", "ST", "GS", "GE", "ISA", "IEA"})

    def __init__(self) -> None:
        self.isa: Segment | None = None
        self.gs: Segment | None = None
        self.st: Segment | None = None
        self.closed = False
        self.groups = 0
        self.transactions_in_group = 0
        self.transactions = 0
        self.segments_in_transaction = 0
        self.member_records = 0
        self.audit_records = 0
        self.segments = 0
        self.file_kind = ""
        self.file_date: datetime.date | None = None
        self.sponsor_id = ""
        self.payer_id = ""
        self._expect_bgn = False

    def feed(self, segment: Segment) -> None:
        self.segments += 1
        tag = segment.tag
        if self.st is not None and tag not in self.WATCHED and not self._expect_bgn:
            self.segments_in_transaction += 1  # the common case, kept fast
            return
        if self.closed:
            raise X12Error(
                "data after the IEA interchange trailer", segment.number, tag
            )
        if self.st is not None:
            self.segments_in_transaction += 1
            if self._expect_bgn:
                self._read_bgn(segment)
            elif tag == "SE":
                self._close_transaction(segment)
            elif tag == "INS":
                self.member_records += 1
                if segment.get(3) == "030":
                    self.audit_records += 1
            elif tag == "N1" and self.member_records == 0 and self.transactions == 1:
                if segment.get(1) == "P5":
                    self.sponsor_id = segment.get(4)
                elif segment.get(1) == "IN":
                    self.payer_id = segment.get(4)
            elif tag in ("ST", "GS", "GE", "ISA", "IEA"):
                raise X12Error(
                    f"{tag} inside transaction {self.st.get(2)!r}: its SE trailer "
                    "is missing",
                    segment.number,
                    tag,
                )
            return
        if tag == "ST":
            self._open_transaction(segment)
        elif tag == "GS":
            if self.gs is not None:
                raise X12Error(
                    "GS inside a functional group: its GE trailer is missing",
                    segment.number,
                    tag,
                )
            self.gs = segment
            self.groups += 1
            self.transactions_in_group = 0
        elif tag == "GE":
            self._close_group(segment)
        elif tag == "ISA":
            if self.isa is not None:
                raise X12Error(
                    "a second ISA before the IEA trailer", segment.number, tag
                )
            self.isa = segment
        elif tag == "IEA":
            self._close_interchange(segment)
        elif tag != "TA1":
            raise X12Error(
                "segment outside a transaction set (no ST before it)",
                segment.number,
                tag,
            )

    def counts_only(self) -> bool:
        """Whether feed() would only count a segment that is not WATCHED."""
        return self.st is not None and not self._expect_bgn

    def count(self, segments: int) -> None:
        """feed() for that many segments that are not WATCHED, while counts_only()."""
        self.segments += segments
        self.segments_in_transaction += segments

    def feed_piece(self, number: int, tag: str, text: str, separator: str) -> None:
        """feed() for a segment not yet split into elements (SegmentReader.pieces):
        inside a transaction most segments only count."""
        if self.st is not None and tag not in self.WATCHED and not self._expect_bgn:
            self.segments += 1
            self.segments_in_transaction += 1
            return
        self.feed(Segment(number, tag, text.split(separator)))

    def _open_transaction(self, segment: Segment) -> None:
        if self.gs is None:
            raise X12Error(
                "ST outside a functional group (no GS)", segment.number, "ST"
            )
        if segment.get(1) != "834":
            raise X12Error(
                f"not an 834 enrollment file: ST01 is {segment.get(1)!r}",
                segment.number,
                "ST",
            )
        self.st = segment
        self.segments_in_transaction = 1
        self.transactions += 1
        self.transactions_in_group += 1
        self._expect_bgn = True

    def _read_bgn(self, segment: Segment) -> None:
        self._expect_bgn = False
        if segment.tag != "BGN":
            raise X12Error(
                "an 834 transaction must begin with BGN after ST",
                segment.number,
                segment.tag,
            )
        kind = segment.get(8)
        if kind not in FILE_KINDS:
            raise X12Error(
                f"BGN08 {kind!r} is not a file kind (2 change, 4 verify, RX replace)",
                segment.number,
                "BGN",
            )
        if self.file_kind and kind != self.file_kind:
            raise X12Error(
                f"BGN08 {kind!r} differs from the first transaction's "
                f"{self.file_kind!r}: one file, one kind",
                segment.number,
                "BGN",
            )
        self.file_kind = kind
        if self.file_date is None:
            self.file_date = parse_date(segment.get(3))

    def _close_transaction(self, segment: Segment) -> None:
        expected = _count(segment, 1)
        if expected != self.segments_in_transaction:
            raise X12Error(
                f"SE01 says {expected} segments but the transaction has "
                f"{self.segments_in_transaction} (ST to SE)",
                segment.number,
                "SE",
            )
        if not _same_control(segment.get(2), self.st.get(2)):
            raise X12Error(
                f"SE02 {segment.get(2)!r} does not match ST02 {self.st.get(2)!r}",
                segment.number,
                "SE",
            )
        self.st = None

    def _close_group(self, segment: Segment) -> None:
        if self.gs is None:
            raise X12Error("GE without a GS", segment.number, "GE")
        expected = _count(segment, 1)
        if expected != self.transactions_in_group:
            raise X12Error(
                f"GE01 says {expected} transaction sets but the group has "
                f"{self.transactions_in_group}",
                segment.number,
                "GE",
            )
        if not _same_control(segment.get(2), self.gs.get(6)):
            raise X12Error(
                f"GE02 {segment.get(2)!r} does not match GS06 {self.gs.get(6)!r}",
                segment.number,
                "GE",
            )
        self.gs = None

    def _close_interchange(self, segment: Segment) -> None:
        if self.isa is None:
            raise X12Error("IEA without an ISA", segment.number, "IEA")
        if self.gs is not None:
            raise X12Error(
                "IEA inside a functional group: its GE trailer is missing",
                segment.number,
                "IEA",
            )
        expected = _count(segment, 1)
        if expected != self.groups:
            raise X12Error(
                f"IEA01 says {expected} functional groups but the interchange has "
                f"{self.groups}",
                segment.number,
                "IEA",
            )
        if segment.get(2).strip() != self.isa.get(13).strip():
            raise X12Error(
                f"IEA02 {segment.get(2)!r} does not match ISA13 {self.isa.get(13)!r}",
                segment.number,
                "IEA",
            )
        self.closed = True

    def finish(self) -> None:
        if self.st is not None or self.gs is not None or not self.closed:
            raise X12Error(
                "truncated file: it ends without the IEA interchange trailer"
            )
        if self.transactions == 0:
            raise X12Error("the interchange holds no 834 transaction set (no ST)")

    def summary(self, delimiters: Delimiters) -> EnvelopeSummary:
        if self.isa is None:
            raise X12Error("no ISA segment")
        isa_date = self.isa.get(9)
        return EnvelopeSummary(
            interchange_control=self.isa.get(13).strip(),
            sender=self.isa.get(6).strip(),
            receiver=self.isa.get(8).strip(),
            interchange_date=parse_date("20" + isa_date)
            if len(isa_date) == 6
            else None,
            usage=self.isa.get(15),
            file_kind=self.file_kind,
            file_date=self.file_date,
            sponsor_id=self.sponsor_id,
            payer_id=self.payer_id,
            transactions=self.transactions,
            member_records=self.member_records,
            segments=self.segments,
            delimiters=delimiters,
            audit_records=self.audit_records,
        )


def check_envelope(source: Source, *, chunk_size: int = CHUNK_SIZE) -> EnvelopeSummary:
    """Read the whole file once and check its envelope; raise X12Error on a fault.

    The importer calls this before storing anything, so a file whose counts or
    control numbers do not add up is rejected whole and writes nothing.

    A file on disk is first checked by a fast pass that handles only the usual
    shape (see _fast_envelope); anything else, a fault included, is read again by
    the segment-by-segment pass below, which gives every answer and every error.
    """
    if isinstance(source, str | os.PathLike):
        with suppress(_Unusual):
            return _fast_envelope(source, chunk_size)
    reader = SegmentReader(source, chunk_size=chunk_size)
    envelope = Envelope()
    feed = envelope.feed_piece
    separator = ""
    for number, tag, text in reader.pieces():
        if not separator:
            separator = reader.delimiters.element
        feed(number, tag, text, separator)
    envelope.finish()
    return envelope.summary(reader.delimiters)


class _Unusual(Exception):
    """The fast envelope pass met something it leaves to the full one."""


def _fast_envelope(path, chunk_size: int) -> EnvelopeSummary:
    """check_envelope for the usual file: no newlines, no empty segments, ASCII
    segment identifiers, every segment of a transaction between ST/BGN and SE.

    Instead of a Python step per segment, each chunk is checked with one regular
    expression (every segment starts with a 2-3 character identifier) and only
    the segments the envelope watches are fed to it; the others are counted in
    bulk. It gives the same summary as the full pass for any file it accepts, and
    raises _Unusual for everything else (including every fault), so the full
    pass decides.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with open(path, "rb") as stream:
        pending = ""
        while True:
            chunk = stream.read(chunk_size)
            pending += decoder.decode(chunk, final=not chunk)
            pending = pending.lstrip("\ufeff" + NEWLINES)
            if not chunk or len(pending) >= ISA_LENGTH:
                break
        if not pending.startswith("ISA") or len(pending) < ISA_LENGTH:
            raise _Unusual
        try:
            delimiters = Delimiters.from_isa(pending)
        except X12Error:
            raise _Unusual from None
        separator, terminator = delimiters.element, delimiters.segment
        if separator.isalnum() or separator in NEWLINES or terminator in NEWLINES:
            raise _Unusual
        e, t = re.escape(separator), re.escape(terminator)
        # Both start with the terminator, which the regex engine scans for fast;
        # each text is given with a terminator in front.
        malformed = re.compile(
            rf"{t}(?!(?=[0-9]{{0,2}}[A-Z])[A-Z0-9]{{2,3}}(?:{e}|{t}))(?!\Z)"
        )
        # Member records (INS) and their N1s matter one by one only until the
        # first INS; after it, INS and audit (030) records are counted in bulk.
        watched = re.compile(rf"{t}(SE|INS|N1|ST|GS|GE|ISA|IEA|BGN)(?={e}|{t})")
        watched_after = re.compile(rf"{t}(SE|ST|GS|GE|ISA|IEA|BGN)(?={e}|{t})")
        member = f"{terminator}INS{separator}"
        audit = re.compile(rf"{t}INS{e}[^{e}{t}]*{e}[^{e}{t}]*{e}030(?={e}|{t})")
        envelope = Envelope()
        number = 0  # segments before the current text
        last = 0  # number of the last segment fed to the envelope
        tag = ""
        while True:
            cut = pending.rfind(terminator) + 1
            text, pending = pending[:cut], pending[cut:]
            if len(pending) > MAX_SEGMENT_LENGTH:
                raise _Unusual
            if text:
                text = terminator + text
                if "\n" in text or "\r" in text or malformed.search(text):
                    raise _Unusual
                counted, at, scan = 0, 1, 0
                while True:
                    pattern = watched_after if envelope.member_records else watched
                    match = pattern.search(text, scan)
                    start = match.start() + 1 if match else len(text)
                    counted += text.count(terminator, at, start)
                    at = start
                    current = number + counted + 1
                    _count_between(
                        envelope,
                        current - last - 1,
                        text.count(member, scan, start),
                        len(audit.findall(text, scan, start)),
                    )
                    last = current - 1
                    if match is None:
                        break
                    end = text.index(terminator, start)
                    tag = match.group(1)
                    try:
                        envelope.feed(
                            Segment(current, tag, text[start:end].split(separator))
                        )
                    except X12Error:
                        raise _Unusual from None
                    last, scan = current, end
                number += counted
            chunk = stream.read(chunk_size)
            if not chunk:
                break
            pending += decoder.decode(chunk)
        pending += decoder.decode(b"", final=True)
    if pending.strip(NEWLINES + " \t\x00\x1a") or tag != "IEA":
        raise _Unusual
    try:
        envelope.finish()
        return envelope.summary(delimiters)
    except X12Error:
        raise _Unusual from None


def _count_between(
    envelope: Envelope, segments: int, members: int, audits: int
) -> None:
    """Segments fed in bulk, inside a transaction after its BGN: `members` of
    them INS, `audits` of those of maintenance type 030."""
    if segments <= 0:
        return
    if envelope.st is None or envelope._expect_bgn:
        raise _Unusual
    envelope.segments += segments
    envelope.segments_in_transaction += segments
    envelope.member_records += members
    envelope.audit_records += audits
