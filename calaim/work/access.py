"""The one place a task is fetched for a user."""

from django.core.exceptions import ValidationError
from django.http import Http404

from calaim.work.models import Task
from calaim.work.selectors import tasks_in_reach


def access_task(user, task_uuid) -> Task:
    """The task `task_uuid` if `user` may act on it, else Http404.

    Missing, someone else's, or about a member the user cannot see all
    answer the same, so a task's existence does not leak.
    """
    try:
        return tasks_in_reach(user).get(uuid=task_uuid)
    except (Task.DoesNotExist, ValueError, ValidationError) as missing:
        raise Http404("No such task.") from missing
