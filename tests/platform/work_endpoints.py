"""Permission-matrix entries for due work (see tests/matrix.py)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.cast import PEOPLE
from tests.matrix import register


def lead_care_manager_task(cast):
    """An open follow-up owned by the lead care manager about the cast member,
    made once per cast through the service."""
    task = cast.__dict__.get("work_task")
    if task is None:
        from calaim.work.services import task_create

        task = task_create(
            kind="platform.follow_up",
            due_at=timezone.now() + timedelta(days=2),
            owner=cast.lead_care_manager,
            member_id=cast.member.pk,
            source=("tests.cast", "work_task"),
            actor=cast.lead_care_manager,
        )
        cast.__dict__["work_task"] = task
    return task


register(
    "my_tasks",
    "GET",
    lambda cast: reverse("my_tasks"),
    allowed=PEOPLE,
)
register(
    "task_close",
    "POST",
    lambda cast: reverse("task_close", args=[lead_care_manager_task(cast).uuid]),
    # The owner, and the supervisor of the owner's organization (covering an
    # absence); a colleague or the provider admin gets 404 like everyone else.
    allowed={"lead_care_manager", "supervisor"},
    ok_status=(302,),
)
