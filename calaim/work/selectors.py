"""Reads of due work, scoped to what the user may see."""

from django.db.models import Q, QuerySet

from calaim import access as registry
from calaim.accounts import roles
from calaim.work.models import Task, TaskStatus


def _about_visible_members(user) -> Q:
    """A task about no member, or about a member the user may still see - a task
    must not keep showing a member after the responsibility moved on."""
    return Q(member_id__isnull=True) | Q(
        member_id__in=registry.visible_member_ids(user)
    )


def tasks_for(user) -> QuerySet:
    """The user's open tasks and their organization queue's, by due time.

    Overdue tasks come first simply because they have the earliest due times.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    mine = Q(owner_id=user.pk)
    if user.organization_id is not None:
        mine |= Q(organization_id=user.organization_id)
    return (
        Task.objects.filter(mine, status=TaskStatus.OPEN)
        .filter(_about_visible_members(user))
        .select_related("owner", "organization")
        .order_by("due_at", "id")
    )


def tasks_in_reach(user) -> QuerySet:
    """Tasks, open or closed, the user may act on (services.task_may_close in SQL):
    their own, their queue's, and, for supervisors, their staff's.

    Closed ones are included so that a second click on Close gets a clear
    "already closed" rather than a 404.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    allowed = Q(owner_id=user.pk)
    if user.organization_id is not None:
        allowed |= Q(organization_id=user.organization_id)
        if user.has_role(roles.SUPERVISOR):
            allowed |= Q(owner__organization_id=user.organization_id)
    return (
        Task.objects.filter(allowed)
        .filter(_about_visible_members(user))
        .select_related("owner", "organization")
    )
