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

from django.db.models import IntegerField, Value

from calaim.prepared import prepared_list
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
    for cin in cins:  # in order: the first CIN we know wins (usually just one)
        rows = prepared_list(
            "transitions.match.cin",
            lambda value: MemberCin.objects.filter(cin=value).select_related("member")[
                :1
            ],
            cin,
        )
        if rows:
            return _survivor(rows[0].member)
    return None


def _survivor(member: Member) -> Member:
    # A merged duplicate's CINs move to the survivor; an older row may still
    # point at the duplicate, which names the record it was merged into.
    seen = set()
    while member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.get(pk=member.merged_into_id)
    return member


def _demographics(adt: ADT) -> tuple | None:
    """(last name, first name, birth date, sex code), or None when the message
    lacks any of them."""
    sex = SEX_CODES.get(adt.sex)
    if not (adt.last_name and adt.first_name and adt.birth_date and sex):
        return None
    return adt.last_name, adt.first_name, adt.birth_date, sex


def _same_person(last, first, birth, code):
    return Member.objects.filter(
        last_name__iexact=last,
        first_name__iexact=first,
        birth_date=birth,
        sex=code,
        merged_into__isnull=True,
    )


def demographic_candidates(adt: ADT, limit: int = 2) -> list[Member]:
    """Members with exactly the message's last name, first name, birth date and
    sex; empty when the message lacks any of them."""
    values = _demographics(adt)
    if values is None:
        return []
    return prepared_list(
        ("transitions.match.demographics", limit),
        lambda *values: _same_person(*values).order_by("pk")[:limit],
        *values,
    )


def _cin_or_demographics(cin, last, first, birth, code):
    """Rule 1 for one CIN and rule 3, in one query: each row says its rule."""
    by_cin = (
        Member.objects.filter(cins__cin=cin)
        .annotate(rule=Value(1, IntegerField()))
        .order_by("pk")[:1]
    )
    by_person = (
        _same_person(last, first, birth, code)
        .annotate(rule=Value(3, IntegerField()))
        .order_by("pk")[:2]
    )
    return by_cin.union(by_person, all=True).order_by("rule", "pk")


def match_member(adt: ADT, *, cin_authorities=()) -> Match:
    """The member the message is about, by the rules of the module docstring."""
    cins = cins_in(adt, cin_authorities)
    demographics = _demographics(adt)
    if len(cins) == 1 and demographics is not None:
        # The usual message (one CIN, and the demographics): rules 1 and 3 in one
        # round trip, which an unmatched message, the commonest, needs both of.
        rows = prepared_list(
            "transitions.match.cin_or_demographics",
            _cin_or_demographics,
            cins[0],
            *demographics,
        )
        if rows and rows[0].rule == 1:
            return Match(_survivor(rows[0]), "pid3_cin", 1)
        candidates = rows
    else:
        member = _by_cins(cins)
        if member is not None:
            return Match(member, "pid3_cin", 1)
        candidates = None
    member = _by_cins(insurance_cins(adt))
    if member is not None:
        return Match(member, "in1_cin", 1)
    if candidates is None:
        candidates = demographic_candidates(adt)
    if len(candidates) == 1:
        return Match(candidates[0], "demographics", 1)
    return Match(None, "", len(candidates))
