"""42 CFR Part 2: who may be shown a member's substance use disorder records.

Part 2 content (assessment answers and care plan goals marked `part2`) may be
disclosed to the member's *treating care team*, and to anyone else only under an
active consent that covers Part 2 records and names their organization as a
recipient (DOMAIN.md §7b). Everyone else sees it withheld, and the withholding is
audited (`part2_withheld`). Whatever discloses Part 2 content carries
`REDISCLOSURE_NOTICE`.

The treating care team lives in apps above this one (the lead care manager of
the open episode, the care team's staff), so those apps register its rules here
in their AppConfig.ready(), exactly as they register access rules with
calaim.access: `func(user) -> QuerySet of member ids (values("member_id"))`, or
None when the rule cannot apply to this user. The team is their union.

API clients are service accounts of one organization: the same rules apply to
them, and a consent naming their organization covers them.
"""

from collections.abc import Callable
from functools import reduce
from operator import or_

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from calaim.audit.context import current_event
from calaim.audit.services import audit_record
from members.models import Consent, Member

# 42 CFR 2.32(a)(2), as amended by the 2024 final rule (89 FR 12472): the short
# statement that must accompany each disclosure made with the patient's consent.
REDISCLOSURE_NOTICE = (
    "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
)
# 42 CFR 2.32(a)(1), the long statement, for exports and printed records.
REDISCLOSURE_NOTICE_FULL = (
    "This record which has been disclosed to you is protected by Federal "
    "confidentiality rules (42 CFR part 2). These rules prohibit you from using or "
    "disclosing this record, or testimony that describes the information contained "
    "in this record, in any civil, criminal, administrative, or legislative "
    "proceedings by any Federal, State, or local authority, against the patient, "
    "unless authorized by the consent of the patient, except as provided at 42 CFR "
    "2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. "
    "In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies: "
    "(i) further use or disclosure is expressly permitted by the written consent of "
    "the individual whose information is being disclosed in this record or as "
    "otherwise permitted by 42 CFR part 2; (ii) you are a covered entity or business "
    "associate and have received the record for treatment, payment, or health care "
    "operations; or (iii) you have received the record from a covered entity or "
    "business associate as permitted by 45 CFR part 164, subparts A and E. A general "
    "authorization for the release of medical or other information is NOT "
    "sufficient to meet the required elements of written consent to further use or "
    "redisclose the record (see 42 CFR 2.31)."
)

_treating_rules: dict[str, Callable] = {}


def register_treating_rule(name: str):
    """Decorator: `func(user) -> QuerySet of member ids | None` is part of the
    treating care team (re-registering a name replaces the rule)."""

    def decorate(func):
        _treating_rules[name] = func
        return func

    return decorate


def unregister_treating_rule(name: str) -> None:
    """Remove a rule (tests that register their own)."""
    _treating_rules.pop(name, None)


def treating_rules() -> dict[str, Callable]:
    return dict(_treating_rules)


def _usable(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def _member_id_queries(user) -> list[QuerySet]:
    """The treating-team rules that apply to `user`, and the consents naming the
    user's organization, each as a queryset of member ids."""
    queries = []
    for rule in _treating_rules.values():
        ids = rule(user)
        if ids is not None:
            queries.append(ids.order_by())
    if user.organization_id is not None:
        queries.append(
            Consent.objects.covering_part2()
            .in_effect_on(timezone.localdate())
            .filter(recipient_organizations=user.organization_id)
            .values("member_id")
            .order_by()
        )
    return queries


def part2_disclosure_allowed(user, member) -> bool:
    """Whether Part 2 content of `member` may be shown to `user`: one query.

    True for the member's treating care team (the registered rules) and for
    anyone whose organization an active consent covering Part 2 names as a
    recipient. The caller has already checked that `user` may see the member at
    all; this only decides about the Part 2 content within.
    """
    if not _usable(user):
        return False
    member_pk = getattr(member, "pk", member)
    queries = _member_id_queries(user)
    if not queries:
        return False
    clauses = [
        Exists(ids.filter(**{ids.query.values_select[0]: OuterRef("pk")}))
        for ids in queries
    ]
    return Member.objects.filter(pk=member_pk).filter(reduce(or_, clauses)).exists()


def part2_visible_member_ids(user) -> QuerySet:
    """The ids of the members whose Part 2 content `user` may see, as one UNION
    subquery (`member_id__in=part2_visible_member_ids(user)` in lists)."""
    queries = _member_id_queries(user) if _usable(user) else []
    if not queries:
        return Member.objects.none().values("pk")
    first, *rest = queries
    return first.union(*rest) if rest else first


def part2_withheld(*, user, member, what: str) -> None:
    """Record in the audit trail that Part 2 content (`what`, e.g.
    "assessment_answers" or "care_plan_goals") was withheld from `user`.

    Written as its own audit event at once, with the request's id, rather than
    folded into the request's single event: that event keeps only the most
    significant action of the request, and a withholding must never be lost
    behind the view it happened in. Call it once per member and kind of content.
    """
    token = current_event.set(None)
    try:
        audit_record(
            action="view",
            object_type="part2_withheld",
            object_id=str(getattr(member, "uuid", "") or ""),
            member_ids=[getattr(member, "pk", member)],
            actor=user if _usable(user) else None,
            reason=f"Part 2 content withheld: {what}"[:500],
        )
    finally:
        current_event.reset(token)
