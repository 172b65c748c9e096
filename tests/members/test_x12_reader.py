"""The X12 tokenizer and envelope check (members.x12.reader): pure, no database."""

import io

import pytest

from members.x12 import synthetic
from members.x12.edi834 import iter_member_records
from members.x12.reader import (
    MAX_SEGMENT_LENGTH,
    Delimiters,
    X12Error,
    check_envelope,
    iter_segments,
)


def _834(members=3, **options) -> bytes:
    buffer = io.BytesIO()
    synthetic.write_834(buffer, members, **options)
    return buffer.getvalue()


def _file(tmp_path, data: bytes, name="in.x12"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _tags(source, **options):
    return [segment.tag for segment in iter_segments(source, **options)]


@pytest.mark.parametrize(
    "delimiters",
    [
        ("*", ":", "^", "~"),
        ("|", ">", "^", "~"),
        ("^", "\\", "{", "'"),
        ("!", "}", "#", "\n"),
        ("*", ":", "^", "\n"),
    ],
)
def test_delimiters_come_from_the_isa_not_from_habit(tmp_path, delimiters):
    path = _file(tmp_path, _834(4, delimiters=delimiters))
    summary = check_envelope(path)
    assert summary.delimiters == Delimiters(*delimiters)
    assert summary.member_records == 4
    records = list(iter_member_records(path))
    assert [record.cin for record in records] == [
        synthetic.cin_for(index) for index in range(4)
    ]
    assert all(record.is_valid for record in records)


def test_composite_and_repetition_separators_are_normalized_in_raw(tmp_path):
    path = _file(tmp_path, _834(1, delimiters=("|", "}", "#", "~")))
    record = next(iter_member_records(path))
    assert "|" not in record.raw
    assert record.raw.startswith("INS*Y*18*021*")


def test_delimiters_from_isa_positions():
    isa = (
        "ISA|00|          |00|          |ZZ|DHCS           |ZZ|PLAN170        "
        "|260115|1200|!|00501|000000001|0|T|}\n"
    )
    assert len(isa) == 106
    assert Delimiters.from_isa(isa) == Delimiters("|", "}", "!", "\n")


def test_4010_isa_without_repetition_separator_reads():
    isa = (
        "ISA*00*          *00*          *ZZ*DHCS           *ZZ*PLAN170        "
        "*260115*1200*U*00401*000000001*0*T*:~"
    )
    assert Delimiters.from_isa(isa) == Delimiters("*", ":", "", "~")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_newlines_between_segments_are_tolerated(tmp_path, newline):
    plain = _834(3)
    spaced = plain.replace(b"~", b"~" + newline.encode())
    assert _tags(_file(tmp_path, spaced)) == _tags(_file(tmp_path, plain, "b.x12"))


def test_newline_option_of_the_writer_reads_the_same(tmp_path):
    one_line = _tags(_file(tmp_path, _834(3)))
    many_lines = _tags(_file(tmp_path, _834(3, newline=True), "b.x12"))
    assert one_line == many_lines


def test_segments_are_numbered_from_one_in_file_order(tmp_path):
    segments = list(iter_segments(_file(tmp_path, _834(2))))
    assert [segment.number for segment in segments] == list(range(1, len(segments) + 1))
    assert segments[0].tag == "ISA"
    assert segments[0].elements[13] == "000000001"
    assert segments[-1].elements == ["IEA", "1", "000000001"]


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 105, 106, 107, 4096])
def test_segments_split_across_reads_come_out_whole(tmp_path, chunk_size):
    path = _file(tmp_path, _834(5, newline=True))
    whole = [tuple(segment) for segment in iter_segments(path)]
    chunked = [tuple(segment) for segment in iter_segments(path, chunk_size=chunk_size)]
    assert chunked == whole


def test_a_multibyte_character_split_across_reads_survives(tmp_path):
    data = _834(1).replace(b"TRIALSON", "PE\u00d1ANUEVA".encode())
    path = _file(tmp_path, data)
    names = {record.last_name for record in iter_member_records(path, chunk_size=1)}
    assert "PE\u00d1ANUEVA" in names


def test_binary_file_objects_are_read_too():
    buffer = io.BytesIO(_834(2))
    summary = check_envelope(buffer)
    assert summary.member_records == 2


def test_envelope_summary(tmp_path):
    path = _file(tmp_path, _834(5, interchange_control=42, repeat=2))
    summary = check_envelope(path)
    assert summary.interchange_control == "000000042"
    assert summary.sender == "DHCS"
    assert summary.receiver == "PLAN170"
    assert summary.interchange_date == synthetic.DEFAULT_FILE_DATE
    assert summary.file_date == synthetic.DEFAULT_FILE_DATE
    assert (summary.file_kind, summary.file_kind_name) == ("2", "change")
    assert summary.usage == "T"
    assert summary.payer_id == "170"
    assert summary.transactions == 1
    assert summary.member_records == 10


def test_an_audit_roster_is_a_verify_file(tmp_path):
    summary = check_envelope(_file(tmp_path, _834(2, maintenance="030")))
    assert (summary.file_kind, summary.file_kind_name) == ("4", "verify")


def test_a_replace_file_kind_is_read(tmp_path):
    summary = check_envelope(_file(tmp_path, _834(2, file_kind="RX")))
    assert summary.file_kind_name == "replace"


def _x12_error(tmp_path, data: bytes) -> X12Error:
    path = _file(tmp_path, data)
    with pytest.raises(X12Error) as raised:
        check_envelope(path)
    # The record reader refuses the same file: it never trusts a broken envelope.
    with pytest.raises(X12Error):
        list(iter_member_records(path))
    return raised.value


@pytest.mark.parametrize("data", [b"", b"\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(tmp_path, data):
    error = _x12_error(tmp_path, data)
    assert str(error) == "the file is empty"


def test_a_file_that_is_not_x12_is_refused(tmp_path):
    error = _x12_error(tmp_path, b"CIN,LAST,FIRST\n91234567A,DOE,JANE\n")
    assert "not an X12 file" in str(error)


def test_a_truncated_isa_is_refused(tmp_path):
    error = _x12_error(tmp_path, _834(1)[:60])
    assert str(error).startswith("segment 1 ISA: truncated ISA: 60 characters")


def test_an_isa_that_is_not_fixed_width_is_refused(tmp_path):
    data = _834(1).replace(b"*DHCS           *", b"*DHCS*", 1)
    error = _x12_error(tmp_path, data)
    assert "fixed-width" in str(error)
    assert error.segment_number == 1


def test_a_file_cut_in_the_middle_of_a_segment_is_refused(tmp_path):
    error = _x12_error(tmp_path, _834(2, defect="cut"))
    assert "ends in the middle of a segment" in error.reason
    assert error.tag == "IEA"


def test_a_file_cut_between_segments_is_refused(tmp_path):
    data = _834(3)
    cut = data[: data.index(b"~N3*", len(data) // 2) + 1]
    error = _x12_error(tmp_path, cut)
    assert "ends without the IEA" in error.reason


def test_a_file_without_iea_is_refused(tmp_path):
    error = _x12_error(tmp_path, _834(2, defect="no_iea"))
    assert "ends without the IEA" in str(error)


def test_a_file_that_is_not_an_834_is_refused(tmp_path):
    error = _x12_error(tmp_path, _834(2, defect="not_834"))
    assert str(error) == "segment 3 ST: not an 834 enrollment file: ST01 is '820'"


@pytest.mark.parametrize(
    ("defect", "tag", "message"),
    [
        (
            "iea_count",
            "IEA",
            "IEA01 says 2 functional groups but the interchange has 1",
        ),
        ("iea_control", "IEA", "IEA02 '000000002' does not match ISA13 '000000001'"),
        ("ge_count", "GE", "GE01 says 2 transaction sets but the group has 1"),
        ("ge_control", "GE", "GE02 '2' does not match GS06 '1'"),
        ("se_count", "SE", "SE01 says "),
        ("se_control", "SE", "SE02 '0002' does not match ST02 '0001'"),
    ],
)
def test_envelope_count_and_control_mismatches_are_refused(
    tmp_path, defect, tag, message
):
    error = _x12_error(tmp_path, _834(3, defect=defect))
    assert error.tag == tag
    assert message in error.reason
    segments = list(iter_segments(_file(tmp_path, _834(3), "good.x12")))
    position = {"IEA": -1, "GE": -2, "SE": -3}[tag]
    assert error.segment_number == segments[position].number
    assert str(error).startswith(f"segment {error.segment_number} {tag}: ")


def test_se_count_reports_both_numbers(tmp_path):
    segments = list(iter_segments(_file(tmp_path, _834(3), "good.x12")))
    transaction = sum(1 for s in segments if s.tag not in ("ISA", "GS", "GE", "IEA"))
    error = _x12_error(tmp_path, _834(3, defect="se_count"))
    assert error.reason == (
        f"SE01 says {transaction + 1} segments but the transaction has "
        f"{transaction} (ST to SE)"
    )


def test_a_missing_ge_is_refused(tmp_path):
    data = _834(1)
    start = data.index(b"GE*")
    data = data[:start] + data[data.index(b"~", start) + 1 :]
    error = _x12_error(tmp_path, data)
    assert "GE trailer is missing" in str(error)


def test_a_missing_se_is_refused(tmp_path):
    data = _834(1)
    start = data.index(b"SE*")
    data = data[:start] + data[data.index(b"~", start) + 1 :]
    error = _x12_error(tmp_path, data)
    assert "SE trailer is missing" in str(error)


def test_data_after_the_iea_is_refused(tmp_path):
    error = _x12_error(tmp_path, _834(1) + b"NM1*IL*1*LATE~IEA*1*000000001~")
    assert "after the IEA" in str(error)


def test_an_unknown_file_kind_is_refused(tmp_path):
    error = _x12_error(tmp_path, _834(1, file_kind="9"))
    assert "BGN08 '9' is not a file kind" in str(error)


def test_garbage_instead_of_a_segment_is_refused(tmp_path):
    data = _834(2).replace(b"~DMG*", b"~dm g*", 1)
    error = _x12_error(tmp_path, data)
    assert "is not a segment identifier" in error.reason


def test_a_file_that_never_uses_its_terminator_is_refused_early(tmp_path):
    """The ISA says "~" but the rest uses newlines: refuse, don't buffer the file."""
    data = bytearray(_834(1000, delimiters=("*", ":", "^", "\n")))
    data[105:106] = b"~"
    assert len(data) > 2 * MAX_SEGMENT_LENGTH
    error = _x12_error(tmp_path, bytes(data))
    assert "segment terminator" in error.reason
    assert error.segment_number == 2


def test_the_envelope_check_reads_in_bounded_chunks(tmp_path):
    """A 1-byte chunk size still checks the whole envelope (no read-all shortcut)."""
    path = _file(tmp_path, _834(3, defect="se_control"))
    with pytest.raises(X12Error, match="SE02"):
        check_envelope(path, chunk_size=1)


def _full_pass(path):
    """check_envelope as the segment-by-segment pass alone does it (a file
    object never takes the fast pass)."""
    with open(path, "rb") as stream:
        return check_envelope(stream)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"maintenance": "030"},
        {"maintenance": "030", "bad": {2: "ins03"}},
        {"terminations": 0.2, "prior_cins": 0.2, "repeat": 2},
        {"delimiters": ("|", ">", "!", "~")},
        {"delimiters": ("^", "\\", "{", "'")},
        {"newline": True},
    ],
)
@pytest.mark.parametrize("chunk_size", [7, 1000, 1 << 20])
def test_the_fast_envelope_pass_agrees_with_the_full_one(tmp_path, options, chunk_size):
    path = _file(tmp_path, _834(40, **options))
    summary = check_envelope(path, chunk_size=chunk_size)
    assert summary == _full_pass(path)
    assert summary.member_records == 40 * options.get("repeat", 1)
    expected_audits = 40 if options.get("maintenance") == "030" else 0
    assert summary.audit_records == expected_audits - bool(options.get("bad"))


@pytest.mark.parametrize("defect", synthetic.DEFECTS)
def test_the_fast_envelope_pass_leaves_every_fault_to_the_full_one(tmp_path, defect):
    from members.x12 import reader

    path = _file(tmp_path, _834(5, defect=defect))
    with pytest.raises(reader._Unusual):
        reader._fast_envelope(path, 1 << 20)
    with pytest.raises(X12Error) as fast:
        check_envelope(path)
    with pytest.raises(X12Error) as full:
        _full_pass(path)
    assert str(fast.value) == str(full.value)
