"""Every write to Task: create, close, reassign. Nothing else saves a Task."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from calaim.accounts import roles
from calaim.audit.services import audit_record
from calaim.work.kinds import task_kind
from calaim.work.models import Task, TaskStatus


class TaskAlreadyOpen(ValidationError):
    """An open task of this kind already exists for this source."""


class TaskAlreadyClosed(ValidationError):
    """The task was closed before (by someone else, or a second click)."""


def source_key(source) -> tuple[str, str]:
    """("app_label.model", "pk") for a model instance, or a (type, id) pair as given.

    Plain strings, so a task can point at a record of any layer without a
    foreign key upwards.
    """
    if source is None:
        return "", ""
    if isinstance(source, tuple):
        source_type, source_id = source
        return str(source_type), str(source_id)
    meta = source._meta
    return meta.label_lower, str(source.pk)


@transaction.atomic
def task_create(
    *,
    kind: str,
    due_at,
    owner=None,
    organization=None,
    member_id: int | None = None,
    source=None,
    actor,
) -> Task:
    """Open a task for one user or one organization's queue.

    Refuses an unregistered kind (LookupError), a naive `due_at`, a task with
    both or neither owner and queue, and a second open task of the same kind for
    the same source (TaskAlreadyOpen) - callers that may race, such as an event
    redelivered by Celery, catch that and carry on.
    """
    task_kind(kind)
    if (owner is None) == (organization is None):
        raise ValidationError(
            "A task belongs to one person or one organization queue, not both.",
            code="task_owner",
        )
    if timezone.is_naive(due_at):
        raise ValidationError("due_at must be timezone-aware.", code="naive_due_at")
    if owner is not None and not owner.is_active:
        raise ValidationError("The owner's account is inactive.", code="inactive")
    source_type, source_id = source_key(source)
    task = Task(
        kind=kind,
        due_at=due_at,
        owner=owner,
        organization=organization,
        member_id=member_id,
        source_type=source_type,
        source_id=source_id,
    )
    try:
        # A savepoint, so a caller's transaction survives the duplicate.
        with transaction.atomic():
            task.save()
    except IntegrityError as error:
        if "task_one_open_per_source_and_kind" in str(error):
            raise TaskAlreadyOpen(
                f"An open {kind} task already exists for {source_type} {source_id}.",
                code="task_already_open",
            ) from error
        raise
    _audit(task, action="create", actor=actor)
    return task


def task_may_close(task: Task, user) -> bool:
    """The owner, anyone in the owning queue's organization, or a supervisor of
    the owner's organization (covering an absence) may close a task."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if task.owner_id is not None:
        if task.owner_id == user.pk:
            return True
        return (
            user.has_role(roles.SUPERVISOR)
            and user.organization_id is not None
            and user.organization_id == task.owner.organization_id
        )
    return user.organization_id is not None and (
        user.organization_id == task.organization_id
    )


@transaction.atomic
def task_close(*, task: Task, actor, status: str = TaskStatus.DONE) -> Task:
    """Close an open task as done or cancelled.

    Raises PermissionDenied unless `task_may_close`, and TaskAlreadyClosed when
    it is not open any more; the row is locked first, so two people closing at
    once get one success and one clear refusal.
    """
    if status not in (TaskStatus.DONE, TaskStatus.CANCELLED):
        raise ValidationError("A task closes as done or cancelled.", code="status")
    if not task_may_close(task, actor):
        raise PermissionDenied("You may not close this task.")
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise TaskAlreadyClosed(
            f"This task was already closed ({locked.get_status_display().lower()}"
            f" on {timezone.localtime(locked.closed_at):%Y-%m-%d %H:%M}).",
            code="task_already_closed",
        )
    task.status = status
    task.closed_at = timezone.now()
    task.closed_by = actor
    task.save(update_fields=["status", "closed_at", "closed_by"])
    _audit(task, action="update", actor=actor, reason=f"closed as {status}")
    return task


@transaction.atomic
def task_reassign(*, task: Task, actor, owner=None, organization=None) -> Task:
    """Hand an open task to another person or queue of the same organization.

    Whoever may close the task may reassign it; it stays inside the organization
    that holds it, so reassigning cannot show a member to another provider.
    """
    if (owner is None) == (organization is None):
        raise ValidationError(
            "Reassign to one person or one organization queue.", code="task_owner"
        )
    if not task_may_close(task, actor):
        raise PermissionDenied("You may not reassign this task.")
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise TaskAlreadyClosed("Only an open task can be reassigned.", code="closed")
    current_organization_id = (
        task.owner.organization_id if task.owner_id else task.organization_id
    )
    new_organization_id = owner.organization_id if owner else organization.pk
    if new_organization_id != current_organization_id:
        raise ValidationError(
            "A task can only move within its organization.", code="other_organization"
        )
    if owner is not None and not owner.is_active:
        raise ValidationError("The new owner's account is inactive.", code="inactive")
    task.owner = owner
    task.organization = organization
    task.save(update_fields=["owner", "organization"])
    _audit(task, action="update", actor=actor, reason="reassigned")
    return task


def _audit(task: Task, *, action: str, actor, reason: str = "") -> None:
    audit_record(
        action=action,
        object_type="task",
        object_id=str(task.uuid),
        member_ids=[task.member_id] if task.member_id is not None else [],
        actor=actor,
        reason=reason,
    )


@transaction.atomic
def tasks_close_for_source(
    *, source, kind: str, actor, status: str = TaskStatus.DONE
) -> int:
    """Close the open tasks of `kind` about `source` because the step they waited
    for was taken (an authorization decided, a plan agreed).

    The calling service has already checked that `actor` may take that step, so
    no task permission is asked again; each closed task is audited.
    """
    source_type, source_id = source_key(source)
    closed = 0
    for task in Task.objects.select_for_update().filter(
        kind=kind, source_type=source_type, source_id=source_id, status=TaskStatus.OPEN
    ):
        task.status = status
        task.closed_at = timezone.now()
        task.closed_by = actor
        task.save(update_fields=["status", "closed_at", "closed_by"])
        _audit(task, action="update", actor=actor, reason=f"closed: {status}")
        closed += 1
    return closed
