"""Member records of the DHCS 834 (members.x12.edi834) and the synthetic writer.

Pure tests: no database. The synthetic files are themselves checked with pyx12
against the 005010X220A1 map, so the fixtures the importer is tested with are
valid X12.
"""

import dataclasses
import datetime
import io
import logging

import pytest
import pyx12.params
import pyx12.x12n_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.x12 import synthetic
from members.x12.edi834 import MASK, RecordError, iter_member_records
from members.x12.reader import X12Error, iter_segments

FILE_DATE = synthetic.DEFAULT_FILE_DATE


def _records(members=3, **options):
    buffer = io.BytesIO()
    synthetic.write_834(buffer, members, **options)
    buffer.seek(0)
    return list(iter_member_records(buffer))


def _written(members, **options):
    buffer = io.BytesIO()
    synthetic.write_members(buffer, members, **options)
    buffer.seek(0)
    return buffer


def _records_of(members, **options):
    return list(iter_member_records(_written(members, **options)))


def _text_fields(record):
    """Every value a record hands to the importer, as text."""
    values = []
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, list):
            values.extend(str(entry) for entry in value)
        else:
            values.append(str(value))
    return values


# -- fields ------------------------------------------------------------------------


def test_a_meds_record_reads_into_every_field():
    record = _records(1, prior_cins={0})[0]
    person = synthetic.member_for(0)
    assert record.is_valid, record.errors
    assert record.segment_number == 9  # ISA GS ST BGN REF DTP N1 N1, then INS
    assert (record.maintenance, record.maintenance_reason) == ("021", "28")
    assert record.maintenance_name == "add"
    assert record.cin == person.cin
    assert record.prior_ids == [person.prior_cin]
    assert (record.last_name, record.first_name, record.middle_name) == (
        person.last_name,
        person.first_name,
        person.middle_name,
    )
    assert record.birth_date == person.birth_date
    assert record.sex == person.sex
    assert record.language == person.language
    assert record.phone == person.phone
    assert record.address_line1 == person.address_line1
    assert record.address_line2 == person.address_line2
    assert (record.city, record.state, record.zip) == (person.city, "CA", person.zip)
    assert record.county_code == person.county_code
    assert record.aid_code == person.aid_code
    assert record.eligibility_begin == person.eligibility_begin
    assert record.coverage_begin == person.eligibility_begin
    assert record.eligibility_end is None
    assert record.coverage_end is None
    assert record.raw.startswith("INS*Y*18*021*28*A~REF*0F*")
    assert record.raw.endswith("~")
    assert len(record.content_hash) == 64


def test_member_i_is_the_same_person_in_every_file_of_a_seed():
    first = _records(5)
    audit = _records(3, start=2, maintenance="030", interchange_control=9)
    assert [r.cin for r in audit] == [r.cin for r in first[2:]]
    assert [r.birth_date for r in audit] == [r.birth_date for r in first[2:]]
    other_seed = _records(5, seed=1)
    assert {r.cin for r in other_seed}.isdisjoint({r.cin for r in first})


def test_a_termination_carries_its_end_dates():
    records = _records(3, terminations={1})
    ended = records[1]
    assert ended.is_valid, ended.errors
    assert ended.maintenance == "024"
    end = synthetic.last_day_of_month(FILE_DATE)
    assert ended.eligibility_end == end
    assert ended.coverage_end == end
    assert records[0].eligibility_end is None


def test_a_reinstatement_is_read():
    record = _records(2, reinstatements={0})[0]
    assert (record.maintenance, record.maintenance_name) == ("025", "reinstatement")
    assert record.is_valid


def test_a_change_file_moves_the_chosen_members():
    before = _records(20)
    after = _records(20, maintenance="001", changes=0.3)
    moved = [i for i in range(20) if after[i].address_line1 != before[i].address_line1]
    assert 0 < len(moved) < 20
    for index in moved:
        assert after[index].phone != before[index].phone
        assert after[index].maintenance_reason == "43"
    assert [r.cin for r in after] == [r.cin for r in before]


def test_the_aid_code_falls_back_to_ref_1l():
    data = _written([synthetic.member_for(0)]).getvalue()
    person = synthetic.member_for(0)
    data = data.replace(f"*{person.aid_code}170*".encode(), b"**")
    record = next(iter_member_records(io.BytesIO(data)))
    assert record.aid_code == person.aid_code  # REF*1L: county, aid, case


def test_n406_may_carry_more_than_the_county():
    person = synthetic.member_for(0)
    data = _written([person]).getvalue()
    data = data.replace(
        f"*CY*{person.county_code}~".encode(), f"*CY*{person.county_code}123~".encode()
    )
    assert next(iter_member_records(io.BytesIO(data))).county_code == (
        person.county_code
    )


def test_the_phone_is_the_number_after_te():
    person = synthetic.member_for(0)
    data = _written([person]).getvalue()
    data = data.replace(b"PER*IP**TE*", b"PER*IP**EM*X@EXAMPLE.ORG*TE*")
    assert next(iter_member_records(io.BytesIO(data))).phone == person.phone


def test_the_address_of_another_loop_is_not_the_members():
    """N3/N4 after a responsible person's NM1 (loop 2100G) belong to that person."""
    person = synthetic.member_for(0)
    data = _written([person]).getvalue()
    data = data.replace(
        b"~HD*",
        b"~NM1*QD*1*GUARDIANSON*ZULU~N3*1 ELSEWHERE RD~N4*RENO*NV*89501~HD*",
    )
    data = _fix_se_count(data, 3)
    record = next(iter_member_records(io.BytesIO(data)))
    assert record.is_valid, record.errors
    assert (record.address_line1, record.city) == (person.address_line1, person.city)


# -- identifiers ---------------------------------------------------------------------


def test_a_bic_id_is_cut_to_the_cin():
    person = synthetic.member_for(0)
    bic = person.cin + "2" + "9180"
    prior_bic = person.prior_cin + "7" + "5123"
    [record] = _records_of([dataclasses.replace(person, cin=bic, prior_cin=prior_bic)])
    assert record.is_valid, record.errors
    assert record.cin == person.cin
    assert record.prior_ids == [person.prior_cin]


def test_ref_0f_gives_the_cin_when_it_is_cin_shaped():
    """Non-MEDS files: no NM108 ZZ, the CIN sits in REF*0F and is kept in raw."""
    person = synthetic.member_for(0)
    [record] = _records_of(
        [dataclasses.replace(person, meds_id=person.cin, bad="no_cin")]
    )
    assert record.is_valid, record.errors
    assert record.cin == person.cin
    assert f"REF*0F*{person.cin}~" in record.raw


def test_the_meds_id_in_ref_0f_is_never_kept():
    records = _records(10, prior_cins=0.5)
    for index, record in enumerate(records):
        meds_id = synthetic.member_for(index).meds_id
        assert meds_id not in record.raw
        assert f"REF*0F*{MASK}~" in record.raw
        assert all(meds_id not in value for value in _text_fields(record))


def test_the_meds_id_is_not_part_of_the_content_hash():
    """Only the SSN-like MEDS ID differs: if it were hashed, the hashes would too."""
    person = synthetic.member_for(0)
    [first] = _records_of([person])
    [second] = _records_of([dataclasses.replace(person, meds_id="666000001")])
    assert first.content_hash == second.content_hash
    assert first.raw == second.raw


def test_a_prior_id_that_is_not_a_cin_is_dropped_and_masked():
    person = synthetic.member_for(0)
    [record] = _records_of([dataclasses.replace(person, prior_cin="666123456")])
    assert record.prior_ids == []
    assert "666123456" not in record.raw
    assert f"REF*Q4*{MASK}~" in record.raw


def test_an_ssn_in_nm109_is_masked():
    person = synthetic.member_for(0)
    data = _written([dataclasses.replace(person, meds_id=person.cin)]).getvalue()
    data = data.replace(f"*ZZ*{person.cin}~".encode(), b"*34*666554444~")
    [record] = iter_member_records(io.BytesIO(data))
    assert record.cin == person.cin  # from the CIN-shaped REF*0F
    assert "666554444" not in record.raw


def test_an_invalid_cin_that_looks_like_an_ssn_is_not_echoed():
    person = synthetic.member_for(0)
    [record] = _records_of([dataclasses.replace(person, cin="666554444")])
    assert not record.is_valid
    assert "666554444" not in record.raw
    assert all("666554444" not in value for value in _text_fields(record))


# -- content hash ----------------------------------------------------------------------


def test_the_content_hash_ignores_the_interchange():
    first = _records(5, interchange_control=1)
    second = _records(
        5,
        interchange_control=77,
        file_date=datetime.date(2026, 2, 15),
        delimiters=("|", ">", "!", "\n"),
    )
    assert [r.content_hash for r in first] == [r.content_hash for r in second]
    assert [r.raw for r in first] == [r.raw for r in second]


def test_the_content_hash_changes_with_the_address():
    before = _records(20)
    after = _records(20, changes={3})
    assert after[3].content_hash != before[3].content_hash
    unchanged = [i for i in range(20) if i != 3]
    assert [after[i].content_hash for i in unchanged] == [
        before[i].content_hash for i in unchanged
    ]


def test_an_audit_line_that_repeats_the_member_hashes_the_same():
    """Maintenance codes are bookkeeping, not content: a 030 line equals the add."""
    adds = _records(4)
    audit = _records(4, maintenance="030")
    assert [r.content_hash for r in audit] == [r.content_hash for r in adds]
    assert [r.raw for r in audit] != [r.raw for r in adds]


def test_a_termination_hashes_differently_from_the_add():
    adds = _records(2)
    ends = _records(2, terminations={0})
    assert ends[0].content_hash != adds[0].content_hash


def test_repeated_identical_records_hash_the_same():
    records = _records(3, repeat=2)
    assert len(records) == 6
    for first, second in zip(records[::2], records[1::2], strict=True):
        assert first.cin == second.cin
        assert first.content_hash == second.content_hash
        assert second.segment_number > first.segment_number


# -- record errors ---------------------------------------------------------------------


BAD = {
    "short_cin": ("NM1", 9, "is not a CIN"),
    "cin_shape": ("NM1", 9, "is not a CIN"),
    "no_cin": ("NM1", 9, "no CIN"),
    "no_nm1": ("NM1", None, "no member name"),
    "no_dmg": ("DMG", None, "the birth date is missing"),
    "no_ref0f": ("REF", None, "no REF*0F"),
    "birth_date": ("DMG", 2, "birth date 20260231 is not a real date"),
    "future_birth": ("DMG", 2, "birth date 20990101 is after the file date 20260115"),
    "county": ("N4", 6, "county code '77' is not a California county code (01-58)"),
    "dtp_date": ("DTP", 3, "eligibility begin '"),
    "end_before_begin": ("DTP", 3, "eligibility end "),
    "coverage_end_before_begin": ("DTP", 3, "coverage end 20000101 is before its"),
    "ins03": ("INS", 3, "maintenance type '099' is not 021 add"),
    "sex": ("DMG", 3, "sex 'X' is not F, M or U"),
}


def test_every_bad_kind_has_an_expectation():
    assert set(BAD) == set(synthetic.BAD_KINDS)


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_record_is_rejected_alone_with_its_reason(kind):
    records = _records(3, bad={1: kind})
    assert records[0].is_valid, records[0].errors
    assert records[2].is_valid, records[2].errors
    errors = records[1].errors
    tag, element, reason = BAD[kind]
    matching = [
        error
        for error in errors
        if (error.segment, error.element) == (tag, element) and reason in error.reason
    ]
    assert matching, errors
    # The segment number points at the segment at fault (or the INS when missing).
    segments = {
        s.number: s for s in iter_segments(_written(synthetic.roster(3, bad={1: kind})))
    }
    assert segments[matching[0].segment_number].tag == (tag if element else "INS")


def test_an_impossible_birth_date_reads_as_a_plain_sentence():
    records = _records(2, bad={1: "birth_date"})
    [error] = records[1].errors
    dmg = records[1].segment_number + 8  # after INS: REF REF DTP NM1 PER N3 N4 DMG
    assert str(error) == f"segment {dmg} DMG02: birth date 20260231 is not a real date"
    assert records[1].birth_date is None


def test_errors_with_a_missing_segment_point_at_the_ins():
    record = _records(1, bad={0: "no_dmg"})[0]
    assert str(record.errors[0]) == (
        f"segment {record.segment_number} DMG: no DMG segment: the birth date is "
        "missing"
    )


def test_a_termination_without_an_end_date_is_rejected():
    person = dataclasses.replace(synthetic.member_for(0), maintenance="024")
    [record] = _records_of([person])
    assert [str(e) for e in record.errors] == [
        f"segment {record.segment_number} INS03: a termination (024) needs an end "
        "date (DTP*357 or DTP*349)"
    ]


def test_member_data_before_any_ins_is_rejected():
    data = _records_buffer_without_first_ins()
    records = list(iter_member_records(io.BytesIO(data)))
    assert len(records) == 2
    assert records[0].errors[0].segment == "INS"
    assert "without an INS segment" in records[0].errors[0].reason
    assert records[1].is_valid


def _records_buffer_without_first_ins() -> bytes:
    data = _written(synthetic.roster(2)).getvalue()
    start = data.index(b"INS*")
    data = data[:start] + data[data.index(b"~", start) + 1 :]
    return _fix_se_count(data, -1)


def _fix_se_count(data: bytes, delta: int) -> bytes:
    start = data.index(b"~SE*") + 4
    end = data.index(b"*", start)
    count = int(data[start:end]) + delta
    return data[:start] + str(count).encode() + data[end:]


def test_a_lost_ins_between_members_is_caught():
    data = _written(synthetic.roster(3)).getvalue()
    second = data.index(b"INS*", data.index(b"INS*") + 1)
    data = data[:second] + data[data.index(b"~", second) + 1 :]
    data = _fix_se_count(data, -1)
    records = list(iter_member_records(io.BytesIO(data)))
    assert len(records) == 2
    assert any("INS is missing" in error.reason for error in records[0].errors)


def test_record_error_str_without_element():
    assert str(RecordError(5, "NM1", None, "no member name")) == (
        "segment 5 NM1: no member name"
    )


# -- streaming -------------------------------------------------------------------------


def test_records_stream_before_the_file_ends():
    """The first record is yielded before the reader reaches the broken trailer."""
    buffer = io.BytesIO()
    synthetic.write_834(buffer, 3, defect="se_count")
    buffer.seek(0)
    records = iter_member_records(buffer, chunk_size=64)
    assert next(records).cin == synthetic.cin_for(0)
    with pytest.raises(X12Error, match="SE01"):
        list(records)


def test_the_writer_streams_to_a_path(tmp_path):
    path = tmp_path / "out.x12"
    assert synthetic.write_834(path, 50, repeat=2) == 100
    assert sum(1 for _ in iter_member_records(path)) == 100


def test_the_writer_refuses_a_value_holding_a_delimiter():
    person = dataclasses.replace(synthetic.member_for(0), last_name="O*BRIEN")
    with pytest.raises(ValueError, match="delimiter"):
        _written([person])


# -- property: write then read ------------------------------------------------------


NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ '-.", min_size=1, max_size=25)
DELIMITER_POOL = "*|!^~:}{>#@\\"


@st.composite
def delimiter_sets(draw):
    chosen = draw(st.permutations(DELIMITER_POOL))[:4]
    if draw(st.booleans()):
        chosen[3] = "\n"
    return tuple(chosen)


@st.composite
def people(draw, index):
    begin = draw(st.dates(datetime.date(2000, 1, 1), datetime.date(2025, 12, 31)))
    end = draw(st.none() | st.dates(begin, datetime.date(2030, 12, 31)))
    return synthetic.SyntheticMember(
        index=index,
        cin=draw(st.from_regex(r"9[0-9]{7}[A-Z]", fullmatch=True)),
        meds_id="666" + draw(st.from_regex(r"[0-9]{6}", fullmatch=True)),
        last_name=draw(NAME.filter(lambda name: name.strip())),
        first_name=draw(NAME),
        middle_name=draw(st.sampled_from(["", "A", "Q"])),
        birth_date=draw(st.dates(datetime.date(1900, 1, 1), FILE_DATE)),
        sex=draw(st.sampled_from("FMU")),
        language=draw(st.sampled_from(synthetic.LANGUAGES)),
        phone=draw(st.from_regex(r"[2-9][0-9]{9}", fullmatch=True)),
        address_line1=draw(NAME),
        address_line2=draw(st.just("") | NAME),
        city=draw(NAME),
        state="CA",
        zip=draw(st.from_regex(r"9[0-9]{4}", fullmatch=True)),
        county_code=f"{draw(st.integers(1, 58)):02d}",
        aid_code=draw(st.from_regex(r"[0-9A-Z]{2}", fullmatch=True)),
        case_number=draw(st.from_regex(r"[0-9]{7}", fullmatch=True)),
        eligibility_begin=begin,
        eligibility_end=end,
        prior_cin=draw(st.just("") | st.from_regex(r"9[0-9]{7}A", fullmatch=True)),
        maintenance=draw(st.sampled_from(["021", "001", "025", "030"])),
    )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    count=st.integers(1, 6),
    delimiters=delimiter_sets(),
    newline=st.booleans(),
    chunk_size=st.sampled_from([1, 3, 64, 1 << 20]),
)
def test_written_members_read_back_unchanged(
    data, count, delimiters, newline, chunk_size
):
    members = [data.draw(people(index)) for index in range(count)]
    buffer = _written(members, delimiters=delimiters, newline=newline)
    records = list(iter_member_records(buffer, chunk_size=chunk_size))
    assert len(records) == count
    for member, record in zip(members, records, strict=True):
        assert record.is_valid, record.errors
        assert record.maintenance == member.maintenance
        assert record.cin == member.cin
        assert record.prior_ids == ([member.prior_cin] if member.prior_cin else [])
        assert (record.last_name, record.first_name, record.middle_name) == (
            member.last_name,
            member.first_name,
            member.middle_name,
        )
        assert (record.birth_date, record.sex) == (member.birth_date, member.sex)
        assert record.language == member.language
        assert record.phone == member.phone
        assert (record.address_line1, record.address_line2) == (
            member.address_line1,
            member.address_line2,
        )
        assert (record.city, record.state, record.zip) == (
            member.city,
            member.state,
            member.zip,
        )
        assert record.county_code == member.county_code
        assert record.aid_code == member.aid_code
        assert (record.eligibility_begin, record.eligibility_end) == (
            member.eligibility_begin,
            member.eligibility_end,
        )
        assert (record.coverage_begin, record.coverage_end) == (
            member.eligibility_begin,
            member.eligibility_end,
        )
        assert member.meds_id not in record.raw
        assert all(character not in record.raw for character in "\r\n")


# -- pyx12: the fixtures are valid 005010X220A1 ----------------------------------------


def _pyx12_problems(path) -> list[str]:
    """Run pyx12's validator on `path`; return its complaints (empty when valid)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                messages.append(record.getMessage())

    logger = logging.getLogger("pyx12")
    handler = Collect()
    logger.addHandler(handler)
    acknowledgement = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=str(path),
            fd_997=acknowledgement,
            fd_html=None,
        )
    finally:
        logger.removeHandler(handler)
    ack = acknowledgement.getvalue()
    if not valid:
        messages.append("pyx12 reported the file invalid")
    if "AK9*A*" not in ack:
        messages.append(f"999 does not accept the group: {ack}")
    return messages


@pytest.mark.parametrize(
    "options",
    [
        {
            "changes": {3, 4},
            "terminations": {5, 6, 7},
            "reinstatements": {8, 9},
            "prior_cins": {10, 11},
            "repeat": 1,
        },
        {"maintenance": "030"},
        {"maintenance": "001", "changes": 0.5, "delimiters": ("|", ">", "!", "\n")},
        {"repeat": 2, "newline": True},
    ],
)
def test_pyx12_accepts_the_synthetic_files(tmp_path, options):
    path = tmp_path / "fixture.x12"
    synthetic.write_834(path, 20, **options)
    kinds = {record.maintenance for record in iter_member_records(path)}
    assert _pyx12_problems(path) == []
    if "reinstatements" in options:
        assert kinds == {"021", "001", "024", "025"}


def test_pyx12_does_catch_a_broken_fixture(tmp_path):
    """The validator is really engaged: a bad INS03 and a bad SE01 are reported."""
    path = tmp_path / "broken.x12"
    synthetic.write_834(path, 3, bad={1: "ins03"}, defect="se_count")
    problems = " ".join(_pyx12_problems(path))
    assert "INS03" in problems
    assert "SE count" in problems
