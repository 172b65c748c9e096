"""One Task model for all due work: what is due, for whom, by when."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from calaim.work.kinds import task_kind_label


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Task(models.Model):
    """Something due by `due_at`, owned by one user or one organization's queue.

    The member is a plain id (members is a higher layer); `source_type` and
    `source_id` name the record the task is about ("care_plans.episode", "42") so
    the app that created it can find and close it. Written only through
    calaim.work.services.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=64)
    member_id = models.BigIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tasks",
        null=True,
        blank=True,
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="queue_tasks",
        null=True,
        blank=True,
        help_text="The organization queue that owns the task (when no person does).",
    )
    due_at = models.DateTimeField()
    source_type = models.CharField(max_length=100, blank=True, default="")
    source_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, organization__isnull=True)
                | Q(owner__isnull=True, organization__isnull=False),
                name="task_owned_by_user_or_queue",
            ),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN, closed_at__isnull=True)
                | (~Q(status=TaskStatus.OPEN) & Q(closed_at__isnull=False)),
                name="task_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(source_type="", source_id="")
                | (~Q(source_type="") & ~Q(source_id="")),
                name="task_source_type_and_id_together",
            ),
            # The same source cannot have two open tasks of one kind, so a
            # re-delivered event or a double click cannot open a duplicate.
            models.UniqueConstraint(
                fields=["kind", "source_type", "source_id"],
                condition=Q(status=TaskStatus.OPEN) & ~Q(source_id=""),
                name="task_one_open_per_source_and_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner", "due_at"],
                condition=Q(status=TaskStatus.OPEN),
                name="task_open_by_owner_due",
            ),
            models.Index(
                fields=["organization", "due_at"],
                condition=Q(status=TaskStatus.OPEN),
                name="task_open_by_queue_due",
            ),
            models.Index(fields=["member_id"], name="task_member"),
        ]

    def __str__(self):
        return f"{self.kind_label} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def kind_label(self) -> str:
        return task_kind_label(self.kind)

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN
