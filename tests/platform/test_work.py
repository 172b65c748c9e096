"""Due work: the Task services, the kind registry and the scoped selector."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from calaim.accounts import roles
from calaim.audit.models import AuditEvent
from calaim.work.kinds import register_task_kind, task_kind
from calaim.work.models import Task, TaskStatus
from calaim.work.selectors import tasks_for
from calaim.work.services import (
    TaskAlreadyClosed,
    TaskAlreadyOpen,
    task_close,
    task_create,
    task_reassign,
)
from tests import factories

KIND = "platform.follow_up"


def _task(owner=None, *, organization=None, member=None, days=2, source=None):
    return task_create(
        kind=KIND,
        due_at=timezone.now() + timedelta(days=days),
        owner=owner,
        organization=organization,
        member_id=member.pk if member is not None else None,
        source=source,
        actor=owner or factories.UserFactory(organization=organization),
    )


def test_the_platform_follow_up_kind_is_registered_by_the_app():
    assert task_kind(KIND).label == "Follow-up"


def test_registering_a_kind_twice_differently_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_task_kind(KIND, label="Something else")


@pytest.mark.django_db
def test_a_task_of_an_unregistered_kind_is_refused(cast):
    with pytest.raises(LookupError, match="Unknown task kind"):
        task_create(
            kind="nobody.registered_this",
            due_at=timezone.now(),
            owner=cast.lead_care_manager,
            actor=cast.lead_care_manager,
        )
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_a_task_belongs_to_a_person_or_a_queue_not_both_nor_neither(cast):
    for owner, organization in [(None, None), (cast.colleague, cast.ecm_provider)]:
        with pytest.raises(ValidationError, match="one person or one organization"):
            task_create(
                kind=KIND,
                due_at=timezone.now(),
                owner=owner,
                organization=organization,
                actor=cast.supervisor,
            )
    # The database holds the rule too, for any writer that skips the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(kind=KIND, due_at=timezone.now())


@pytest.mark.django_db
def test_a_naive_due_time_is_refused(cast):
    with pytest.raises(ValidationError, match="timezone-aware"):
        task_create(
            kind=KIND,
            due_at=timezone.now().replace(tzinfo=None),
            owner=cast.colleague,
            actor=cast.colleague,
        )


@pytest.mark.django_db
def test_the_same_source_cannot_open_two_tasks_of_one_kind(cast):
    first = _task(cast.lead_care_manager, member=cast.member, source=cast.episode)
    assert (first.source_type, first.source_id) == (
        "care_plans.episode",
        str(cast.episode.pk),
    )
    with transaction.atomic(), pytest.raises(TaskAlreadyOpen):
        _task(cast.lead_care_manager, member=cast.member, source=cast.episode)
    assert Task.objects.count() == 1
    # Once closed, the same source may open the kind again.
    task_close(task=first, actor=cast.lead_care_manager)
    again = _task(cast.lead_care_manager, member=cast.member, source=cast.episode)
    assert again.pk != first.pk


@pytest.mark.django_db
def test_creating_a_task_is_audited_with_its_member(cast):
    task = _task(cast.lead_care_manager, member=cast.member)
    event = AuditEvent.objects.get(object_type="task", object_id=str(task.uuid))
    assert (event.action, event.member_ids) == ("create", [cast.member.pk])
    assert event.actor_id == cast.lead_care_manager.pk


@pytest.mark.django_db
def test_the_owner_closes_a_task_and_it_is_audited(cast):
    task = _task(cast.lead_care_manager, member=cast.member)
    task_close(task=task, actor=cast.lead_care_manager)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.closed_by == cast.lead_care_manager
    assert task.closed_at is not None
    event = AuditEvent.objects.get(object_id=str(task.uuid), action="update")
    assert event.member_ids == [cast.member.pk]
    assert event.reason == "closed as done"


@pytest.mark.django_db
def test_closing_a_task_twice_is_refused_clearly(cast):
    task = _task(cast.lead_care_manager)
    task_close(task=task, actor=cast.lead_care_manager, status=TaskStatus.CANCELLED)
    stale = Task.objects.get(pk=task.pk)
    stale.status = TaskStatus.OPEN  # a copy loaded before the first close
    with pytest.raises(TaskAlreadyClosed, match="already closed \\(cancelled"):
        task_close(task=stale, actor=cast.lead_care_manager)
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "closer",
    ["colleague", "provider_admin", "other_care_manager", "plan_admin"],
)
def test_only_the_owner_or_a_supervisor_closes_a_personal_task(cast, closer):
    task = _task(cast.lead_care_manager)
    with pytest.raises(PermissionDenied):
        task_close(task=task, actor=getattr(cast, closer))
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


@pytest.mark.django_db
def test_a_supervisor_of_the_owners_organization_may_close(cast):
    task = _task(cast.lead_care_manager)
    task_close(task=task, actor=cast.supervisor)
    assert task.closed_by == cast.supervisor


@pytest.mark.django_db
def test_another_organizations_supervisor_may_not_close(cast):
    other_supervisor = factories.UserFactory(
        organization=cast.other_ecm_provider, roles=[roles.SUPERVISOR]
    )
    task = _task(cast.lead_care_manager)
    with pytest.raises(PermissionDenied):
        task_close(task=task, actor=other_supervisor)


@pytest.mark.django_db
def test_anyone_in_the_queues_organization_may_close_a_queue_task(cast):
    task = _task(organization=cast.ecm_provider)
    with pytest.raises(PermissionDenied):
        task_close(task=task, actor=cast.other_care_manager)
    task_close(task=task, actor=cast.colleague)
    assert task.status == TaskStatus.DONE


@pytest.mark.django_db
def test_a_task_is_reassigned_within_its_organization_only(cast):
    task = _task(cast.lead_care_manager)
    with pytest.raises(ValidationError, match="within its organization"):
        task_reassign(task=task, owner=cast.other_care_manager, actor=cast.supervisor)
    task_reassign(task=task, organization=cast.ecm_provider, actor=cast.supervisor)
    task.refresh_from_db()
    assert (task.owner_id, task.organization_id) == (None, cast.ecm_provider.pk)
    task_reassign(task=task, owner=cast.colleague, actor=cast.colleague)
    task.refresh_from_db()
    assert task.owner == cast.colleague
    assert task.organization_id is None


@pytest.mark.django_db
def test_my_tasks_are_mine_and_my_queues_overdue_first(cast):
    later = _task(cast.lead_care_manager, days=3)
    overdue = _task(cast.lead_care_manager, days=-1)
    queue = _task(organization=cast.ecm_provider, days=1)
    _task(cast.colleague)  # a colleague's own task
    _task(organization=cast.other_ecm_provider)  # another provider's queue
    closed = _task(cast.lead_care_manager, days=-5)
    task_close(task=closed, actor=cast.lead_care_manager)

    assert list(tasks_for(cast.lead_care_manager)) == [overdue, queue, later]


@pytest.mark.django_db
def test_a_task_about_a_member_i_no_longer_see_drops_off_my_list(cast):
    about_member = _task(cast.lead_care_manager, member=cast.member)
    about_nobody = _task(cast.lead_care_manager)
    assert set(tasks_for(cast.lead_care_manager)) == {about_member, about_nobody}

    cast.episode.closed_at = timezone.now()
    cast.episode.save(update_fields=["closed_at"])

    assert list(tasks_for(cast.lead_care_manager)) == [about_nobody]
