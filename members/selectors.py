"""Reads of members, scoped to what the user may see."""

from django.db.models import QuerySet

from calaim import access as registry
from members.models import Member


def members_visible_to(user, *, search: str = "") -> QuerySet[Member]:
    """The members `user` may see, optionally narrowed by CIN or name."""
    members = registry.visible_members(user)
    search = (search or "").strip()
    if search:
        from django.db.models import Q

        upper = search.upper()
        members = members.filter(
            Q(cin=upper)
            | Q(last_name__istartswith=search)
            | Q(first_name__istartswith=search)
        )
    return members.order_by("last_name", "first_name", "id")
