"""Which member an ADT message is about (issue 7 §4), or nobody.

In order, the first rule that finds a member wins:
1. a PID-3 identifier whose type is MA (Medicaid number) or whose assigning
   authority the sender has configured as carrying CINs, and which has the CIN
   shape (a 14-character BIC ID is cut to its CIN); CIN history resolves an
   older CIN to today's member;
2. IN1-36 (policy number) or IN1-49 (insured's id), when it has the CIN shape;
3. exactly one member with the same last name, first name, birth date and sex
   (case-insensitive on the names; a merged duplicate record never counts).
Two candidates on rule 3 are unmatched: we never guess. A CIN the message
carries that we do not know falls through to the next rule (a member not yet
in the 834, or a hospital that keys the CIN from an old card).
"""

from dataclasses import dataclass

from calaim.validators import CIN_PATTERN, normalize_cin
from care_plans.transitions.parsing import ADT
from members.models import Member, MemberCin

CIN_IDENTIFIER_TYPE = "MA"
SEX_CODES = {"F": "F", "M": "M", "U": "U"}


@dataclass(frozen=True)
class Match:
    member: Member | None
    rule: str  # "pid3_cin", "in1_cin", "demographics", "" (unmatched)
    candidates: int = 0


def cins_in(adt: ADT, cin_authorities=()) -> list[str]:
    """The CIN-shaped PID-3 identifiers the sender marks as CINs, in order."""
    authorities = {str(authority).upper() for authority in cin_authorities or ()}
    found = []
    for identifier in adt.identifiers:
        marked = identifier.type_code == CIN_IDENTIFIER_TYPE or (
            identifier.authority.upper() in authorities
        )
        cin = normalize_cin(identifier.value)
        if marked and CIN_PATTERN.match(cin) and cin not in found:
            found.append(cin)
    return found


def insurance_cins(adt: ADT) -> list[str]:
    found = []
    for value in adt.insurance_ids:
        cin = normalize_cin(value)
        if CIN_PATTERN.match(cin) and cin not in found:
            found.append(cin)
    return found


def _by_cins(cins: list[str]) -> Member | None:
    if not cins:
        return None
    rows = {
        row.cin: row.member
        for row in MemberCin.objects.filter(cin__in=cins).select_related("member")
    }
    for cin in cins:
        member = rows.get(cin)
        if member is not None:
            return _survivor(member)
    return None


def _survivor(member: Member) -> Member:
    # A merged duplicate's CINs move to the survivor; an older row may still
    # point at the duplicate, which names the record it was merged into.
    seen = set()
    while member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.get(pk=member.merged_into_id)
    return member


def demographic_candidates(adt: ADT, limit: int = 2) -> list[Member]:
    """Members with exactly the message's last name, first name, birth date and
    sex; empty when the message lacks any of them."""
    sex = SEX_CODES.get(adt.sex)
    if not (adt.last_name and adt.first_name and adt.birth_date and sex):
        return []
    return list(
        Member.objects.filter(
            last_name__iexact=adt.last_name,
            first_name__iexact=adt.first_name,
            birth_date=adt.birth_date,
            sex=sex,
            merged_into__isnull=True,
        ).order_by("pk")[:limit]
    )


def match_member(adt: ADT, *, cin_authorities=()) -> Match:
    """The member the message is about, by the rules of the module docstring."""
    member = _by_cins(cins_in(adt, cin_authorities))
    if member is not None:
        return Match(member, "pid3_cin", 1)
    member = _by_cins(insurance_cins(adt))
    if member is not None:
        return Match(member, "in1_cin", 1)
    candidates = demographic_candidates(adt)
    if len(candidates) == 1:
        return Match(candidates[0], "demographics", 1)
    return Match(None, "", len(candidates))
