"""Reading ADT messages: every field the processor uses, and bad input."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from care_plans.transitions.parsing import (
    HOSPITAL_TIME,
    ADTParseError,
    _parse,
    parse_adt,
    parse_time,
)
from tests.transitions.adt import build_adt


def test_reads_every_field_transitions_use():
    raw = build_adt(
        "A03",
        control_id="CTRL-7",
        pid3="MRN123^^^MERCY^MR~91234567A^^^DHCS^MA",
        patient_class="I",
        location="4W^401^B^MERCY",
        admission_type="U",
        visit_number="V77",
        disposition="06",
        admitted_at="20261101080000",
        discharged_at="202611031400",
        event_time="20261103140500",
        diagnoses=[("J44.1", "COPD with exacerbation"), ("E11.9", "Type 2 diabetes")],
        insurance=[("POL-1", "91234567A")],
        admit_reason="Short of breath",
    )

    adt = parse_adt(raw)

    assert (adt.trigger, adt.control_id, adt.sending_facility) == (
        "A03",
        "CTRL-7",
        "MERCYGEN",
    )
    assert [(i.value, i.authority, i.type_code) for i in adt.identifiers] == [
        ("MRN123", "MERCY", "MR"),
        ("91234567A", "DHCS", "MA"),
    ]
    assert (adt.last_name, adt.first_name, adt.birth_date, adt.sex) == (
        "TESTPERSON",
        "JANE",
        date(1980, 5, 17),
        "F",
    )
    assert adt.patient_class == "I"
    assert adt.location == "4W-401-B-MERCY"
    assert adt.admission_type == "U"
    assert adt.visit_number == "V77"
    assert adt.disposition == "06"
    assert adt.admitted_at == datetime(2026, 11, 1, 8, 0, tzinfo=HOSPITAL_TIME)
    assert adt.discharged_at == datetime(2026, 11, 3, 14, 0, tzinfo=HOSPITAL_TIME)
    assert adt.event_occurred_at == datetime(2026, 11, 3, 14, 5, tzinfo=HOSPITAL_TIME)
    assert adt.occurred_at == adt.event_occurred_at
    assert [(d.code, d.text, d.coding_system, d.type_code) for d in adt.diagnoses] == [
        ("J441", "COPD with exacerbation", "I10", "A"),
        ("E119", "Type 2 diabetes", "I10", "A"),
    ]
    assert adt.insurance_ids == ["POL-1", "91234567A"]
    assert adt.admit_reason == "Short of breath"


def test_occurred_at_falls_back_to_the_pv1_time_of_the_event():
    discharge = parse_adt(build_adt("A03", discharged_at="20261103140000"))
    admit = parse_adt(build_adt("A01", admitted_at="20261101080000"))
    transfer = parse_adt(build_adt("A02"))

    assert discharge.occurred_at == discharge.discharged_at
    assert admit.occurred_at == admit.admitted_at
    assert transfer.occurred_at == transfer.recorded_at  # EVN-2


def test_other_encoding_characters_and_escapes():
    raw = (
        "MSH#!*\\$#EHR#MERCYGEN#R#F#20261101##ADT!A01#X1#P#2.5\r"
        "PID#1##91234567A!!!DHCS!MA*555!!!MERCY!MR##O\\T\\BRIEN!ANN##19900102#F\r"
        "PV1#1#E#ED"
    )

    adt = parse_adt(raw)

    assert adt.trigger == "A01"
    assert [i.value for i in adt.identifiers] == ["91234567A", "555"]
    assert adt.last_name == "O$BRIEN"  # \T\ is the escaped subcomponent separator
    assert adt.patient_class == "E"


def test_line_feeds_instead_of_carriage_returns_are_read():
    raw = build_adt("A04", patient_class="E").replace("\r", "\n")

    assert parse_adt(raw).patient_class == "E"


def test_short_message_reads_as_empty_fields():
    adt = parse_adt("MSH|^~\\&|EHR|MERCYGEN|R|F|20261101||ADT^A08|X2|P|2.5")

    assert adt.trigger == "A08"
    assert adt.identifiers == []
    assert adt.birth_date is None
    assert adt.visit_number == ""
    assert adt.occurred_at == datetime(2026, 11, 1, tzinfo=HOSPITAL_TIME)


@pytest.mark.parametrize("raw", ["", "PID|1||123", "garbage\x00\x01", "MSH"])
def test_unreadable_messages_raise(raw):
    with pytest.raises(ADTParseError):
        parse_adt(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261101", datetime(2026, 11, 1, tzinfo=HOSPITAL_TIME)),
        ("202611011530", datetime(2026, 11, 1, 15, 30, tzinfo=HOSPITAL_TIME)),
        ("20261101153045.123", datetime(2026, 11, 1, 15, 30, 45, tzinfo=HOSPITAL_TIME)),
        ("20261101153045+0000", datetime(2026, 11, 1, 15, 30, 45, tzinfo=UTC)),
        ("20261101153045-0800", datetime(2026, 11, 1, 23, 30, 45, tzinfo=UTC)),
        ("", None),
        ("2026", None),
        ("20261341", None),
        ("not a date", None),
    ],
)
def test_hl7_times(value, expected):
    assert parse_time(value) == expected


_segments = st.sampled_from(["MSH", "EVN", "PID", "PV1", "PV2", "DG1", "IN1", "ZZZ"])
_field_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_segments, st.lists(_field_text, max_size=50)), max_size=8),
    st.sampled_from(["^~\\&", "", "^", "#!*\\$", "^~\\&\\&"]),
)
def test_fuzzed_messages_parse_or_raise_adt_parse_error(segments, encoding):
    raw = f"MSH|{encoding}|EHR|FAC||" + "\r".join(
        f"{name}|{'|'.join(fields)}" for name, fields in segments
    )
    try:
        adt = parse_adt(raw)
    except ADTParseError:
        return
    assert isinstance(adt.identifiers, list)
    assert adt.occurred_at is None or adt.occurred_at.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300).map(lambda data: data.decode("latin-1")))
def test_arbitrary_text_never_crashes_the_parser(text):
    try:
        parse_adt("MSH|^~\\&|" + text)
        parse_adt(text)
    except ADTParseError:
        pass


def _reading(raw, *, split_here):
    try:
        return repr(_parse(raw, split_here=split_here))
    except ADTParseError as error:
        return f"ADTParseError: {error}"


_escaped_text = st.lists(
    st.sampled_from(["A", "9", " ", ".", "\\F\\", "\\S\\", "\\T\\", "\\E\\", "\\"]),
    max_size=6,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_segments, st.lists(_field_text, max_size=50)), max_size=8),
    st.lists(
        st.lists(st.lists(_escaped_text, max_size=5).map("^".join), max_size=3).map(
            "~".join
        ),
        max_size=50,
    ),
)
def test_splitting_here_reads_what_python_hl7_reads(segments, pid_fields):
    """The fields of a standard message are split here, not by python-hl7: the
    two readings must agree on every message, escapes and empty parts included."""
    raw = "MSH|^~\\&|EHR|FAC||CALAIM|PLAN|20261101||ADT^A01|C1|P|2.5.1\r" + "\r".join(
        [f"PID|{'|'.join(pid_fields)}"]
        + [f"{name}|{'|'.join(fields)}" for name, fields in segments]
    )
    assert _reading(raw, split_here=True) == _reading(raw, split_here=False)
