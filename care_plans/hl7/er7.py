"""Just enough ER7 (pipe-delimited HL7 v2) to acknowledge a message.

The ACK depends on MSH alone, so the intake reads only the first segment here and
leaves the full parse (python-hl7, about 0.7 ms a message) to the processor after
the ACK. Pure functions, no Django: the MLLP server and the HTTP view share them.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
DEFAULT_ENCODING = "^~\\&"
# What an ACK's ERR segment says, as HL7 table 0357 codes.
REQUIRED_FIELD_MISSING = ("101", "Required field missing")
UNSUPPORTED_MESSAGE_TYPE = ("200", "Unsupported message type")
UNSUPPORTED_VERSION = ("203", "Unsupported version id")
UNKNOWN_KEY = ("204", "Unknown key identifier")
INTERNAL_ERROR = ("207", "Application internal error")
# Our own ERR texts are plain words; anything else is dropped from them so they can
# never contain a sender's separator characters.
_PLAIN_TEXT = re.compile(r"[^A-Za-z0-9 .,:;()/'_-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ECHO_MAX = 200


class NoHeader(ValueError):
    """The text has no MSH segment that can be read."""


def decode(data: bytes) -> tuple[str, str]:
    """Bytes as text and the codec that read them (to encode the ACK alike).

    UTF-8 when the bytes are UTF-8, else Latin-1 (which reads any byte), so a
    message is never refused for its character set. PostgreSQL text cannot hold
    NUL, so a NUL byte becomes U+FFFD.
    """
    try:
        text, codec = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, codec = data.decode("latin-1"), "latin-1"
    return text.replace("\x00", "\ufffd"), codec


@dataclass(frozen=True)
class Header:
    """The MSH segment, field by field: `field(9)` is MSH-9."""

    separator: str
    encoding: str
    fields: tuple[str, ...]

    @property
    def component_separator(self) -> str:
        return self.encoding[0]

    def field(self, number: int) -> str:
        # fields[0] is "MSH", MSH-1 is the separator itself, MSH-2 is fields[1].
        if number == 1:
            return self.separator
        index = number - 1
        return self.fields[index] if index < len(self.fields) else ""

    def component(self, number: int, component: int = 1) -> str:
        # The first repetition only: MSH fields do not repeat in practice.
        value = self.field(number).split(self.encoding[1])[0]
        parts = value.split(self.component_separator)
        return parts[component - 1].strip() if component <= len(parts) else ""

    @property
    def sending_facility(self) -> str:
        return self.component(4)

    @property
    def message_type(self) -> str:
        return self.component(9, 1).upper()

    @property
    def trigger(self) -> str:
        return self.component(9, 2).upper()

    @property
    def control_id(self) -> str:
        return self.field(10).strip()

    @property
    def version(self) -> str:
        return self.component(12)


def read_header(text: str) -> Header:
    """The message's MSH segment; NoHeader when there is none to read.

    The field separator is MSH's fourth character and the encoding characters are
    MSH-2 (component, repetition, escape, subcomponent, and from v2.7 truncation),
    which must be distinct punctuation; leading blank lines are tolerated.
    """
    start = text.lstrip("\ufeff\r\n\t \x0b")
    if not start.startswith("MSH") or len(start) < 5:
        raise NoHeader("The message does not start with an MSH segment.")
    separator = start[3]
    if separator.isalnum() or separator.isspace() or not separator.isprintable():
        raise NoHeader("MSH has no usable field separator.")
    segment = SEGMENT_BREAK.split(start, maxsplit=1)[0]
    fields = tuple(segment.split(separator))
    encoding = fields[1] if len(fields) > 1 else ""
    if not _usable_encoding(encoding, separator):
        raise NoHeader("MSH-2 does not hold usable encoding characters.")
    return Header(separator=separator, encoding=encoding, fields=fields)


def _usable_encoding(encoding: str, separator: str) -> bool:
    return (
        4 <= len(encoding) <= 5
        and len(set(encoding + separator)) == len(encoding) + 1
        and all(
            char.isprintable() and not char.isalnum() and not char.isspace()
            for char in encoding
        )
    )


def version_supported(version: str) -> bool:
    """HL7 v2.3 up to v2.8 (and their point releases, 2.3.1, 2.5.1, 2.8.2)."""
    match = re.fullmatch(r"2\.([3-8])(\.\d{1,2})?", version)
    return match is not None


def _timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S+0000")


def _plain(text: str) -> str:
    return _PLAIN_TEXT.sub("", text)[:200]


def _echo(value: str) -> str:
    # What the ACK repeats of the message: no control characters (a stray 0x1C
    # would end an MLLP frame early) and bounded, whatever the sender put there.
    return _CONTROL.sub("", value)[:_ECHO_MAX]


def build_ack(
    header: Header | None,
    code: str,
    *,
    error: tuple[str, str] | None = None,
    text: str = "",
) -> str:
    """An ACK for `header`'s message: MSH with sender and receiver swapped, MSA
    with the control id, and ERR when `error` (a table-0357 code and its name).

    Without a header (nothing readable) the ACK uses the default separators and
    an empty MSA-2, so that a sender still gets an answer to every frame.
    """
    separator = header.separator if header else "|"
    encoding = header.encoding if header else DEFAULT_ENCODING
    component = encoding[0]

    def field(number):
        return _echo(header.field(number)) if header else ""

    trigger = _echo(header.trigger) if header else ""
    version = field(12) or "2.5.1"
    msh = [
        "MSH",
        encoding,
        field(5),  # our application: the receiving one of the message
        field(6),
        field(3),
        field(4),
        _timestamp(),
        "",
        component.join(["ACK", trigger, "ACK"]) if trigger else "ACK",
        secrets.token_hex(10),
        field(11) or "P",
        version,
    ]
    segments = [
        separator.join(msh),
        separator.join(["MSA", code, field(10).strip(), _plain(text)]),
    ]
    if error is not None:
        error_code, error_name = error
        segments.append(
            separator.join(
                [
                    "ERR",
                    "",
                    "",
                    component.join([error_code, _plain(error_name), "HL70357"]),
                    "E",
                    "",
                    "",
                    "",
                    _plain(text),
                ]
            )
        )
    return "\r".join(segments) + "\r"
