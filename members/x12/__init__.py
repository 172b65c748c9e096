"""Streaming readers and a synthetic writer for the DHCS X12 834 enrollment file.

Pure Python, no Django models: the importer in `members.services` calls
`check_envelope()` first (so a broken envelope writes nothing), then walks
`iter_member_records()` and stores each valid record. DOMAIN.md §10a says where
each field sits in the DHCS 834 (005010X220A1).
"""

from members.x12.edi834 import MemberRecord, RecordError, iter_member_records
from members.x12.reader import (
    Delimiters,
    EnvelopeSummary,
    Segment,
    X12Error,
    check_envelope,
    iter_segments,
)

__all__ = [
    "Delimiters",
    "EnvelopeSummary",
    "MemberRecord",
    "RecordError",
    "Segment",
    "X12Error",
    "check_envelope",
    "iter_member_records",
    "iter_segments",
]
