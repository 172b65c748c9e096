"""Reads of members, scoped to what the user may see."""

import re
from datetime import date

from django.contrib.postgres.aggregates import JSONBAgg
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Exists, F, JSONField, Lookup, OuterRef, Q, QuerySet, Value
from django.db.models.functions import JSONObject
from django.utils import timezone

from calaim import access as registry
from calaim.prepared import prepared_list
from calaim.validators import normalize_cin
from members.models import (
    ASCMI_KINDS,
    Consent,
    ConsentKind,
    Enrollment,
    Member,
    MemberCin,
)

CIN_LIKE = re.compile(r"^9\d{7}[A-Z](\d{5})?$")


class _BeginsWith(Lookup):
    """`name ILIKE 'word%'`: case-insensitive like `istartswith`, but the
    trigram index on the names serves it, where `istartswith`'s
    `UPPER(name) LIKE` leaves every search a scan of the whole table."""

    lookup_name = "begins_with"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs}::text ILIKE {rhs}", [*lhs_params, *rhs_params]


def _begins_with(field: str, word: str) -> _BeginsWith:
    return _BeginsWith(F(field), connection.ops.prep_for_like_query(word) + "%")


def members_visible_to(user, *, search: str = "") -> QuerySet[Member]:
    """The members `user` may see, optionally narrowed by CIN or name."""
    members = registry.visible_members(user)
    search = (search or "").strip()
    if search:
        upper = search.upper()
        members = members.filter(
            Q(cin=upper)
            | Q(last_name__istartswith=search)
            | Q(first_name__istartswith=search)
        )
    return members.order_by("last_name", "first_name", "id")


def member_search(
    user, *, query: str = "", birth_date: date | None = None, limit: int = 50
) -> list[Member]:
    """Find members the user may see by CIN (current or prior, or a BIC ID), by
    name with typo tolerance (pg_trgm), and/or by birth date, best match first."""
    # A duplicate merged into another record is found through the survivor.
    members = registry.visible_members(user).filter(merged_into__isnull=True)
    query = " ".join((query or "").split())
    if not query and birth_date is None:
        return []
    if birth_date is not None:
        members = members.filter(birth_date=birth_date)
    compact = query.replace(" ", "").upper()
    if CIN_LIKE.match(compact):
        cin = normalize_cin(compact)
        members = members.filter(
            Exists(MemberCin.objects.filter(member=OuterRef("pk"), cin=cin))
        )
        members = members.select_related("county")
        return list(members.order_by("last_name", "first_name", "id")[:limit])
    if query:
        for word in query.split():
            # Every arm is one the trigram index serves (see _BeginsWith).
            members = members.filter(
                Q(last_name__trigram_similar=word)
                | Q(first_name__trigram_similar=word)
                | Q(_begins_with("last_name", word))
                | Q(_begins_with("first_name", word))
            )
        members = members.annotate(
            score=TrigramSimilarity("last_name", query)
            + TrigramSimilarity("first_name", query)
        ).order_by("-score", "last_name", "first_name", "id")
    else:
        members = members.order_by("last_name", "first_name", "id")
    return list(members.select_related("county")[:limit])


def enrolled_members(*, plan_id: int, on: date) -> QuerySet[Enrollment]:
    """Who is enrolled in a plan on a day: one query on the (plan, member, dates)
    index. Not scoped: for reports and services that already act for the plan."""
    return Enrollment.objects.filter(plan_id=plan_id, start_date__lte=on).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=on)
    )


def is_enrolled(*, member_id: int, plan_id: int, on: date) -> bool:
    return enrolled_members(plan_id=plan_id, on=on).filter(member_id=member_id).exists()


def consents_of(member) -> QuerySet[Consent]:
    """The consents of a member already fetched through access_member, with who
    recorded, attested and revoked each, and `recipients` (`[{"id": uuid,
    "name": ...}]`, by name): one query however many there are. Not ordered:
    the API pages it by its cursor."""
    return _with_people(member.consents.all())


def _with_people(consents) -> QuerySet[Consent]:
    return consents.select_related(
        "recorded_by", "attested_by", "revoked_by", "revoked_by_consent"
    ).annotate(
        recipients=JSONBAgg(
            JSONObject(
                id="recipient_organizations__uuid",
                name="recipient_organizations__name",
            ),
            filter=Q(recipient_organizations__isnull=False),
            order_by="recipient_organizations__name",
            default=Value([], output_field=JSONField()),
        )
    )


def member_consents(member) -> list[Consent]:
    """Every consent of a member, newest first (the chart's consents panel)."""
    return prepared_list(
        "members.member_consents",
        lambda member_id: _with_people(
            Consent.objects.filter(member_id=member_id)
        ).order_by("-start_date", "-recorded_at", "-id"),
        member.pk,
    )


def consent_flags(member, *, rows=None) -> dict:
    """The chart header's consent flags, in one query.

    `ascmi`: the kind of the ASCMI form in effect today ("ab133" before
    "non_ab133"), else "revoked" when an ASCMI form was revoked (or a revocation
    is on file) and none is in effect, else None. `part2`: whether a consent that
    covers Part 2 records is in effect today. `rows`: the member's consents when
    the caller has read them already.
    """
    today = timezone.localdate()
    if rows is None:
        rows = list(
            Consent.objects.filter(member_id=getattr(member, "pk", member)).only(
                "kind", "scope_categories", "start_date", "end_date", "revoked_at"
            )
        )
    in_effect = [row for row in rows if row.status_on(today) == Consent.Status.ACTIVE]
    kinds = {row.kind for row in in_effect}
    if ConsentKind.ASCMI_AB133 in kinds:
        ascmi = "ab133"
    elif ConsentKind.ASCMI_NON_AB133 in kinds:
        ascmi = "non_ab133"
    elif any(
        row.kind == ConsentKind.ASCMI_REVOCATION
        or (row.kind in ASCMI_KINDS and row.revoked_at is not None)
        for row in rows
    ):
        ascmi = "revoked"
    else:
        ascmi = None
    return {"ascmi": ascmi, "part2": any(row.covers_part2 for row in in_effect)}
