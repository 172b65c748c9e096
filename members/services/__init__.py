"""Writes for members: every rule that changes a member lives in this package.

- grants: explicit, expiring access grants and break-glass
- records: creating members, CIN history, merging duplicate records
- populations: populations of focus and programs that exclude ECM
- enrollment_import: the X12 834 import
- consents: ASCMI and 42 CFR Part 2 consents, their revocation and end
"""

from members.services.consents import consent_end, consent_record, consent_revoke
from members.services.grants import (
    member_access_grant,
    member_access_revoke,
    member_break_glass,
)
from members.services.populations import (
    ecm_exclusions_on,
    member_population_add,
    other_program_add,
)
from members.services.records import (
    member_by_cin,
    member_create,
    member_merge,
    termination_hooks,
)

__all__ = [
    "consent_end",
    "consent_record",
    "consent_revoke",
    "ecm_exclusions_on",
    "member_population_add",
    "other_program_add",
    "member_access_grant",
    "member_access_revoke",
    "member_break_glass",
    "member_by_cin",
    "member_create",
    "member_merge",
    "termination_hooks",
]
