"""My tasks: what is overdue and what is due next, with a Close button."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.work.access import access_task
from calaim.work.models import TaskStatus
from calaim.work.selectors import tasks_for
from calaim.work.services import TaskAlreadyClosed, task_close

PAGE_SIZE = 200
DUE_SOON_HOURS = 24


@login_required
def my_tasks(request):
    now = timezone.now()
    tasks = list(tasks_for(request.user)[: PAGE_SIZE + 1])
    truncated = len(tasks) > PAGE_SIZE
    tasks = tasks[:PAGE_SIZE]
    members = _member_labels(request.user, tasks)
    soon = now + timedelta(hours=DUE_SOON_HOURS)
    for task in tasks:
        task.member = members.get(task.member_id)
        task.is_overdue = task.due_at < now
        task.is_due_soon = not task.is_overdue and task.due_at <= soon
    return render(
        request,
        "work/my_tasks.html",
        {
            "overdue": [task for task in tasks if task.is_overdue],
            "upcoming": [task for task in tasks if not task.is_overdue],
            "truncated": truncated,
            "page_size": PAGE_SIZE,
            "now": now,
        },
    )


@login_required
@require_POST
def close(request, task_uuid):
    task = access_task(request.user, task_uuid)
    status = request.POST.get("status") or TaskStatus.DONE
    if status not in (TaskStatus.DONE, TaskStatus.CANCELLED):
        return HttpResponseBadRequest("A task closes as done or cancelled.")
    error = ""
    try:
        task_close(task=task, actor=request.user, status=status)
    except TaskAlreadyClosed as refused:
        error = refused.messages[0]
    if request.htmx:
        # The row is swapped for one that says what happened (htmx would not
        # swap a 409, so a refusal is a 200 whose text says so).
        return render(request, "work/_closed_row.html", {"task": task, "error": error})
    if error:
        messages.warning(request, error)
    else:
        messages.success(request, f"Closed: {task.kind_label}.")
    return redirect("my_tasks")


def _member_labels(user, tasks) -> dict:
    """Names of the members the listed tasks are about, in one query, through the
    access registry (this layer cannot import members); recorded as a view."""
    member_ids = {task.member_id for task in tasks if task.member_id is not None}
    if not member_ids:
        return {}
    members = {
        member.pk: member
        for member in registry.visible_members(user).filter(pk__in=member_ids)
    }
    audit_record(action="view", object_type="task_list", member_ids=members, actor=user)
    return members
