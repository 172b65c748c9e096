"""Synthetic HL7 v2 ADT messages for the tests (made-up people only)."""

import itertools

_numbers = itertools.count(1)


def adt(
    *,
    facility="MERCY_BAY",
    control_id=None,
    message_type="ADT",
    trigger="A01",
    version="2.5.1",
    separator="\r",
    cin="91234567A",
    visit="V0001",
    patient_class="I",
    encoding="^~\\&",
) -> str:
    """One ADT message in ER7, segments joined by `separator`."""
    if control_id is None:
        control_id = f"MSG{next(_numbers):08d}"
    c = encoding[0]
    msh_type = c.join([message_type, trigger, f"{message_type}_{trigger}"])
    segments = [
        f"MSH|{encoding}|EHR|{facility}|CALAIM|PLAN|20261130101500||{msh_type}|"
        f"{control_id}|P|{version}",
        f"EVN|{trigger}|20261130101500",
        f"PID|1||{cin}{c * 3}DHCS{c}MA||TESTPERSON{c}ALEX||19800101|F",
        f"PV1|1|{patient_class}|4W{c}401{c}1||||||||||||||||{visit}",
    ]
    return separator.join(segments) + separator


def ack_fields(ack: str) -> dict:
    """The MSH, MSA and ERR fields of an ACK, by segment name."""
    segments = {}
    for segment in ack.strip("\r").split("\r"):
        fields = segment.split("|")
        segments[fields[0]] = fields
    return segments
