"""A deterministic writer of synthetic DHCS-style 834 files, for tests and benchmarks.

The layout follows DOMAIN.md §10a (MEDS-derived 834, 005010X220A1): the CIN in
NM1*IL NM109 with NM108 "ZZ", a fake SSN-like MEDS ID in REF*0F, county + aid +
case in REF*1L, the county code in N406, the aid code at the start of HD04. The
output validates with pyx12 (tests/members/test_x12_834.py keeps it so).

Member `i` is the same person in every file written with the same seed, so a
change, termination or audit file lines up with the add file that came before.
Everything is streamed: 100,000 members never sit in memory at once.

All people are fake: the names come from an obviously made-up list, every MEDS
ID starts with 666 (never issued as an SSN), and phone numbers use 555-01xx.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import random
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import BinaryIO

DEFAULT_DELIMITERS = ("*", ":", "^", "~")  # element, component, repetition, segment
DEFAULT_FILE_DATE = datetime.date(2026, 1, 15)
CIN_LETTERS = "ACDEFGHMNTUVWXYZ"  # DOMAIN.md §6a: letters seen on real CINs
LAST_NAMES = (
    "TESTPERSON", "SAMPLETON", "FAKEWORTH", "SYNTHETICA", "PLACEHOLDER",
    "MOCKINGTON", "DUMMYFIELD", "EXAMPLAR", "FIXTURELLI", "TRIALSON",
)  # fmt: skip
FIRST_NAMES = (
    "ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL",
    "INDIA", "JULIETT", "KILO", "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA",
)  # fmt: skip
STREETS = ("SYNTHETIC WAY", "FIXTURE AVE", "SAMPLE ST", "MOCK BLVD", "TEST CT")
# (city, DHCS county code, zip prefix)
PLACES = (
    ("OAKLAND", "01", "946"),
    ("FRESNO", "10", "937"),
    ("LOS ANGELES", "19", "900"),
    ("SANTA ANA", "30", "927"),
    ("RIVERSIDE", "33", "925"),
    ("SACRAMENTO", "34", "958"),
    ("SAN DIEGO", "37", "921"),
    ("SAN FRANCISCO", "38", "941"),
    ("SAN JOSE", "43", "951"),
    ("EUREKA", "12", "955"),
)
AREA_CODES = ("213", "415", "510", "619", "916")
AID_CODES = ("1H", "M1", "01", "3P", "L1", "7U", "8U", "34")
LANGUAGES = ("ENG", "SPA", "VIE", "CHI", "TGL", "KOR", "ARM", "RUS")
REASONS = {"021": "28", "001": "25", "024": "07", "025": "41", "030": "XN"}
# Record defects that `bad={index: kind}` can inject, for the validation tests.
BAD_KINDS = (
    "short_cin", "cin_shape", "no_cin", "no_nm1", "no_dmg", "no_ref0f",
    "birth_date", "future_birth", "county", "dtp_date", "end_before_begin",
    "coverage_end_before_begin", "ins03", "sex",
)  # fmt: skip
# Envelope defects that `defect=` can inject, for the X12Error tests.
DEFECTS = (
    "no_iea", "cut", "not_834", "iea_count", "iea_control", "ge_count",
    "ge_control", "se_count", "se_control",
)  # fmt: skip

Selection = float | Collection[int] | None


@dataclass(frozen=True)
class SyntheticMember:
    index: int
    cin: str
    meds_id: str  # SSN-shaped; lands in REF*0F and must never be kept by readers
    last_name: str
    first_name: str
    middle_name: str
    birth_date: datetime.date
    sex: str
    language: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip: str
    county_code: str
    aid_code: str
    case_number: str
    eligibility_begin: datetime.date
    eligibility_end: datetime.date | None = None
    prior_cin: str = ""
    maintenance: str = "021"
    maintenance_reason: str = "28"
    bad: str = ""  # one of BAD_KINDS, or ""


def cin_for(index: int, *, seed: int = 0) -> str:
    """The CIN of member `index`: unique per index (below ten million) for a seed."""
    digits = (seed * 1_000_003 + index) % 10_000_000
    letter = CIN_LETTERS[(index * 7 + seed) % len(CIN_LETTERS)]
    return f"9{digits:07d}{letter}"


def member_for(index: int, *, seed: int = 0) -> SyntheticMember:
    """Member `index` as first enrolled: the same person for the same seed."""
    rng = random.Random(f"{seed}:{index}")  # noqa: S311 - fixtures, not secrets
    city, county, zip_prefix = rng.choice(PLACES)
    aid = rng.choice(AID_CODES)
    begin = datetime.date(rng.randint(2019, 2025), rng.randint(1, 12), 1)
    prior_digits = (seed * 1_000_003 + index + 5_000_000) % 10_000_000
    return SyntheticMember(
        index=index,
        cin=cin_for(index, seed=seed),
        meds_id=f"666{rng.randrange(1_000_000):06d}",
        last_name=rng.choice(LAST_NAMES),
        first_name=rng.choice(FIRST_NAMES),
        middle_name=rng.choice(("", "Q", "X", "Z")),
        birth_date=datetime.date(1940, 1, 1)
        + datetime.timedelta(days=rng.randrange(30_000)),
        sex=rng.choice("FFMMU"),
        language=rng.choice(LANGUAGES),
        phone=f"{rng.choice(AREA_CODES)}55501{index % 100:02d}",
        address_line1=f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
        address_line2=rng.choice(("", "", "", f"APT {rng.randint(1, 400)}")),
        city=city,
        state="CA",
        zip=f"{zip_prefix}{rng.randrange(100):02d}",
        county_code=county,
        aid_code=aid,
        case_number=f"{rng.randrange(10_000_000):07d}",
        eligibility_begin=begin,
        prior_cin=f"9{prior_digits:07d}A",
    )


def moved(member: SyntheticMember, *, seed: int = 0, round: int = 1) -> SyntheticMember:
    """The member after a move: new address and phone (a change record, INS03 001)."""
    rng = random.Random(f"{seed}:{member.index}:move:{round}")  # noqa: S311
    city, county, zip_prefix = rng.choice(PLACES)
    return dataclasses.replace(
        member,
        address_line1=f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
        address_line2="",
        city=city,
        county_code=county,
        zip=f"{zip_prefix}{rng.randrange(100):02d}",
        phone=f"707555{rng.randrange(10_000):04d}",
        maintenance="001",
        maintenance_reason="43",
    )


def _picked(selection: Selection, seed: int, index: int, salt: str) -> bool:
    if selection is None:
        return False
    if isinstance(selection, float | int) and not isinstance(selection, bool):
        digest = hashlib.blake2b(f"{seed}:{salt}:{index}".encode(), digest_size=8)
        return int.from_bytes(digest.digest()) / 2**64 < selection
    return index in selection


def last_day_of_month(day: datetime.date) -> datetime.date:
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def roster(
    members: int,
    *,
    seed: int = 0,
    start: int = 0,
    maintenance: str = "021",
    file_date: datetime.date = DEFAULT_FILE_DATE,
    changes: Selection = None,
    change_round: int = 1,
    terminations: Selection = None,
    reinstatements: Selection = None,
    prior_cins: Selection = None,
    bad: Mapping[int, str] | None = None,
) -> Iterator[SyntheticMember]:
    """The members `start` .. `start + members - 1` with the requested variations.

    A selection is a fraction (0.1 = about one member in ten, chosen by a hash
    of seed and index, so the same members every time) or a set of indexes.
    """
    bad = bad or {}
    end_of_month = last_day_of_month(file_date)
    for index in range(start, start + members):
        member = member_for(index, seed=seed)
        member = dataclasses.replace(
            member, maintenance=maintenance, maintenance_reason=REASONS[maintenance]
        )
        if _picked(changes, seed, index, f"change:{change_round}"):
            member = moved(member, seed=seed, round=change_round)
        if _picked(terminations, seed, index, "terminate"):
            member = dataclasses.replace(
                member,
                maintenance="024",
                maintenance_reason=REASONS["024"],
                eligibility_end=end_of_month,
            )
        elif _picked(reinstatements, seed, index, "reinstate"):
            member = dataclasses.replace(
                member, maintenance="025", maintenance_reason=REASONS["025"]
            )
        if not _picked(prior_cins, seed, index, "prior"):
            member = dataclasses.replace(member, prior_cin="")
        if index in bad:
            if bad[index] not in BAD_KINDS:
                raise ValueError(f"unknown bad record kind {bad[index]!r}")
            member = dataclasses.replace(member, bad=bad[index])
        yield member


class _Writer:
    """Joins segments with the chosen delimiters and counts them for SE01."""

    def __init__(
        self, stream: BinaryIO, delimiters: tuple[str, str, str, str], newline
    ):
        self.stream = stream
        self.element, self.component, self.repetition, self.terminator = delimiters
        if len(set(delimiters)) != 4 or any(len(d) != 1 for d in delimiters):
            raise ValueError("four distinct one-character delimiters are needed")
        self.end = self.terminator + (
            "\n" if newline and self.terminator != "\n" else ""
        )
        self.forbidden = set(delimiters) | {"\r", "\n"}
        self.buffer: list[str] = []
        self.count = 0

    def segment(self, *elements: str) -> None:
        elements_list = list(elements)
        while elements_list and elements_list[-1] == "":
            elements_list.pop()  # X12 never ends a segment with empty elements
        for value in elements_list:
            if self.forbidden.intersection(value):
                raise ValueError(f"{value!r} contains a delimiter")
        self.buffer.append(self.element.join(elements_list) + self.end)
        self.count += 1
        if len(self.buffer) >= 2048:
            self.flush()

    def raw(self, text: str) -> None:
        self.buffer.append(text)

    def flush(self) -> None:
        self.stream.write("".join(self.buffer).encode())
        self.buffer.clear()


def _isa(
    writer: _Writer, control: int, sender: str, receiver: str, stamp: datetime.datetime
) -> None:
    # ISA is fixed width: every field padded to its length, so readers can find
    # the delimiters by position.
    fields = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ",
        f"{receiver:<15}", stamp.strftime("%y%m%d"), stamp.strftime("%H%M"),
        writer.repetition, "00501", f"{control:09d}", "0", "T", writer.component,
    ]  # fmt: skip
    writer.buffer.append(writer.element.join(fields) + writer.end)
    writer.count += 1


def _d8(day: datetime.date) -> str:
    return day.strftime("%Y%m%d")


def _member_segments(writer: _Writer, member: SyntheticMember, plan_code: str) -> None:
    bad = member.bad
    seg = writer.segment
    maintenance = "099" if bad == "ins03" else member.maintenance
    seg("INS", "Y", "18", maintenance, member.maintenance_reason, "A")
    if bad != "no_ref0f":
        seg("REF", "0F", member.meds_id)
    seg("REF", "1L", f"{member.county_code}{member.aid_code}{member.case_number}")
    if member.prior_cin:
        seg("REF", "Q4", member.prior_cin)
    begin = _d8(member.eligibility_begin)
    seg("DTP", "356", "D8", begin[:4] + "0230" if bad == "dtp_date" else begin)
    end = member.eligibility_end
    if bad == "end_before_begin":
        end = member.eligibility_begin - datetime.timedelta(days=1)
    if end is not None:
        seg("DTP", "357", "D8", _d8(end))
    cin = {"short_cin": member.cin[:7], "cin_shape": "X" + member.cin[1:]}.get(
        bad, member.cin
    )
    if bad != "no_nm1":
        if bad == "no_cin":
            seg(
                "NM1",
                "IL",
                "1",
                member.last_name,
                member.first_name,
                member.middle_name,
            )
        else:
            seg(
                "NM1", "IL", "1", member.last_name, member.first_name,
                member.middle_name, "", "", "ZZ", cin,
            )  # fmt: skip
        seg("PER", "IP", "", "TE", member.phone)
        seg("N3", member.address_line1, member.address_line2)
        county = "77" if bad == "county" else member.county_code
        seg("N4", member.city, member.state, member.zip, "", "CY", county)
        if bad != "no_dmg":
            birth = _d8(member.birth_date)
            if bad == "birth_date":
                birth = "20260231"
            elif bad == "future_birth":
                birth = "20990101"
            seg("DMG", "D8", birth, "X" if bad == "sex" else member.sex)
        seg("LUI", "LD", member.language)
    seg("HD", member.maintenance, "", "HLT", f"{member.aid_code}{plan_code}", "IND")
    seg("DTP", "348", "D8", begin)
    if bad == "coverage_end_before_begin":
        seg("DTP", "349", "D8", "20000101")
    elif end is not None and bad != "end_before_begin":
        seg("DTP", "349", "D8", _d8(end))


def write_members(
    target: str | os.PathLike | BinaryIO,
    members: Iterable[SyntheticMember],
    *,
    interchange_control: int = 1,
    plan_code: str = "170",
    file_kind: str = "2",
    file_date: datetime.date = DEFAULT_FILE_DATE,
    delimiters: tuple[str, str, str, str] = DEFAULT_DELIMITERS,
    newline: bool = False,
    repeat: int = 1,
    defect: str | None = None,
) -> int:
    """Write one 834 interchange holding `members`; return the number of records."""
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}")
    if isinstance(target, str | os.PathLike):
        opened = open(target, "wb")  # noqa: SIM115 - closed by the with below
    else:
        opened = nullcontext(target)
    stamp = datetime.datetime.combine(file_date, datetime.time(12, 0))
    group = interchange_control % 1_000_000_000
    records = 0
    with opened as stream:
        writer = _Writer(stream, delimiters, newline)
        seg = writer.segment
        _isa(writer, interchange_control, "DHCS", f"PLAN{plan_code}", stamp)
        seg(
            "GS", "BE", "DHCS", f"PLAN{plan_code}", _d8(file_date), "1200",
            str(group), "X", "005010X220A1",
        )  # fmt: skip
        seg("ST", "820" if defect == "not_834" else "834", "0001", "005010X220A1")
        transaction_start = writer.count - 1
        seg("BGN", "00", f"SYN{interchange_control:09d}", _d8(file_date), "1200",
            "", "", "", file_kind)  # fmt: skip
        seg("REF", "38", plan_code)
        seg("DTP", "007", "D8", _d8(file_date))
        seg("N1", "P5", "DHCS SYNTHETIC SPONSOR", "FI", "000000000")
        seg("N1", "IN", f"SYNTHETIC PLAN {plan_code}", "94", plan_code)
        for member in members:
            for _ in range(repeat):
                _member_segments(writer, member, plan_code)
                records += 1
        segments_in_transaction = writer.count - transaction_start + 1
        if defect == "se_count":
            segments_in_transaction += 1
        seg(
            "SE",
            str(segments_in_transaction),
            "0002" if defect == "se_control" else "0001",
        )
        seg(
            "GE",
            "2" if defect == "ge_count" else "1",
            str(group + 1 if defect == "ge_control" else group),
        )
        if defect == "cut":
            writer.raw(f"IEA{writer.element}1")
        elif defect != "no_iea":
            seg(
                "IEA",
                "2" if defect == "iea_count" else "1",
                f"{interchange_control + (defect == 'iea_control'):09d}",
            )
        writer.flush()
    return records


def write_834(
    target: str | os.PathLike | BinaryIO,
    members: int,
    *,
    seed: int = 0,
    start: int = 0,
    interchange_control: int = 1,
    plan_code: str = "170",
    maintenance: str = "021",
    file_kind: str | None = None,
    file_date: datetime.date = DEFAULT_FILE_DATE,
    delimiters: tuple[str, str, str, str] = DEFAULT_DELIMITERS,
    newline: bool = False,
    changes: Selection = None,
    change_round: int = 1,
    terminations: Selection = None,
    reinstatements: Selection = None,
    prior_cins: Selection = None,
    repeat: int = 1,
    bad: Mapping[int, str] | None = None,
    defect: str | None = None,
) -> int:
    """Write a synthetic DHCS-style 834 of `members` members; return the record count.

    `maintenance` sets INS03 for everyone ("021" add, "001" change, "030" audit
    roster; a 030 file is a verify file, BGN08 "4", others are changes, "2").
    `changes`, `terminations`, `reinstatements` and `prior_cins` select members to
    move (001 with a new address and phone), terminate (024 with DTP*357/349),
    reinstate (025) or give a prior CIN in REF*Q4. `repeat` writes each record
    that many times; `bad` ({index: kind from BAD_KINDS}) breaks single records
    and `defect` (one of DEFECTS) breaks the envelope.
    """
    if maintenance not in REASONS:
        raise ValueError(f"unknown maintenance type {maintenance!r}")
    if file_kind is None:
        file_kind = "4" if maintenance == "030" else "2"
    return write_members(
        target,
        roster(
            members,
            seed=seed,
            start=start,
            maintenance=maintenance,
            file_date=file_date,
            changes=changes,
            change_round=change_round,
            terminations=terminations,
            reinstatements=reinstatements,
            prior_cins=prior_cins,
            bad=bad,
        ),
        interchange_control=interchange_control,
        plan_code=plan_code,
        file_kind=file_kind,
        file_date=file_date,
        delimiters=delimiters,
        newline=newline,
        repeat=repeat,
        defect=defect,
    )
