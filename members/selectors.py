"""Reads of members, scoped to what the user may see."""

import re
from datetime import date

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Exists, OuterRef, Q, QuerySet

from calaim import access as registry
from calaim.validators import normalize_cin
from members.models import Enrollment, Member, MemberCin

CIN_LIKE = re.compile(r"^9\d{7}[A-Z](\d{5})?$")


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
            members = members.filter(
                Q(last_name__trigram_similar=word)
                | Q(first_name__trigram_similar=word)
                | Q(last_name__istartswith=word)
                | Q(first_name__istartswith=word)
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
