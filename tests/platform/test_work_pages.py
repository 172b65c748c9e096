"""The "My tasks" page and its Close button, through HTTP."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from calaim.work.models import Task, TaskStatus
from calaim.work.services import task_close, task_create
from tests import factories

KIND = "platform.follow_up"


def _task(cast, *, owner=None, days=2, member=True, organization=None):
    return task_create(
        kind=KIND,
        due_at=timezone.now() + timedelta(days=days),
        owner=owner if organization else (owner or cast.lead_care_manager),
        organization=organization,
        member_id=cast.member.pk if member else None,
        actor=cast.lead_care_manager,
    )


@pytest.fixture
def lead_client(client, cast):
    client.force_login(cast.lead_care_manager)
    return client


def test_the_task_list_shows_overdue_first_with_how_long(lead_client, cast):
    _task(cast, days=3)
    overdue = task_create(
        kind=KIND,
        due_at=timezone.now() - timedelta(days=2, hours=1),
        owner=cast.lead_care_manager,
        member_id=cast.member.pk,
        actor=cast.lead_care_manager,
    )

    response = lead_client.get(reverse("my_tasks"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Overdue tasks (1)") < html.index("Upcoming tasks (1)")
    assert "Overdue by 2\xa0days, 1\xa0hour" in html
    assert f'id="task-{overdue.uuid}" class="table-danger"' in html
    assert "Castmember, Casey" in html
    assert (
        f'aria-label="Close Follow-up due {timezone.localtime(overdue.due_at):%b}'
        in (html)
    )


def test_showing_member_names_on_the_task_list_is_audited(lead_client, cast):
    _task(cast)
    lead_client.get(reverse("my_tasks"))
    event = AuditEvent.objects.get(path=reverse("my_tasks"))
    assert (event.action, event.object_type) == ("view", "task_list")
    assert event.member_ids == [cast.member.pk]


def test_the_task_list_has_an_empty_state(client, cast):
    client.force_login(cast.colleague)
    _task(cast)  # the lead care manager's, not the colleague's
    response = client.get(reverse("my_tasks"))
    assert response.status_code == 200
    assert "Nothing is due" in response.content.decode()
    assert "<table" not in response.content.decode()


def test_the_task_list_query_count_does_not_grow_with_tasks(
    lead_client, cast, django_assert_num_queries
):
    _task(cast)
    lead_client.get(reverse("my_tasks"))  # the first request saves the idle clock
    with CaptureQueriesContext(connection) as one:
        lead_client.get(reverse("my_tasks"))
    for days in range(1, 30):
        _task(cast, days=days, member=days % 2 == 0)
        _task(cast, days=-days, organization=cast.ecm_provider)

    # The page's own share is pinned exactly: one query for the tasks (owners and
    # organizations joined in) and one for the member names. The rest (session,
    # user, roles, the shell's navigation) belongs to the base template, so the
    # total is pinned to what the one-task page did.
    with django_assert_num_queries(len(one)) as many:
        response = lead_client.get(reverse("my_tasks"))
    assert response.content.decode().count('<tr id="task-') == 59
    sql = [query["sql"] for query in many.captured_queries]
    assert sum(query.startswith('SELECT "work_task"') for query in sql) == 1
    assert sum('"members_member"."first_name"' in query for query in sql) == 1


def test_close_marks_the_task_done_and_returns_to_the_list(lead_client, cast):
    task = _task(cast)
    response = lead_client.post(reverse("task_close", args=[task.uuid]))
    assert response.status_code == 302
    assert response["Location"] == reverse("my_tasks")
    task.refresh_from_db()
    assert (task.status, task.closed_by) == (TaskStatus.DONE, cast.lead_care_manager)
    follow = lead_client.get(response["Location"])
    assert "Closed: Follow-up." in follow.content.decode()


def test_close_through_htmx_swaps_the_row(lead_client, cast):
    task = _task(cast)
    response = lead_client.post(
        reverse("task_close", args=[task.uuid]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<tr id="task-{task.uuid}">' in html
    assert "Closed: Follow-up." in html


def test_closing_twice_says_it_was_already_closed(lead_client, cast):
    task = _task(cast)
    task_close(task=task, actor=cast.supervisor)
    response = lead_client.post(
        reverse("task_close", args=[task.uuid]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "already closed (done on" in response.content.decode()
    task.refresh_from_db()
    assert task.closed_by == cast.supervisor


def test_a_colleague_gets_404_and_the_task_stays_open(client, cast):
    task = _task(cast)
    client.force_login(cast.colleague)
    response = client.post(reverse("task_close", args=[task.uuid]))
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_closing_needs_a_post_with_a_csrf_token(cast):
    task = _task(cast)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.lead_care_manager)
    assert client.get(reverse("task_close", args=[task.uuid])).status_code == 405
    assert client.post(reverse("task_close", args=[task.uuid])).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_an_unknown_close_status_is_a_bad_request(lead_client, cast):
    task = _task(cast)
    response = lead_client.post(
        reverse("task_close", args=[task.uuid]), data={"status": "open"}
    )
    assert response.status_code == 400
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_a_queue_task_is_closed_by_someone_in_the_organization(client, cast):
    task = _task(cast, organization=cast.ecm_provider, member=False)
    client.force_login(cast.colleague)
    assert client.post(reverse("task_close", args=[task.uuid])).status_code == 302
    task.refresh_from_db()
    assert task.closed_by == cast.colleague


def test_a_user_without_an_organization_sees_an_empty_list(client, db):
    admin = factories.UserFactory(organization=None, is_superuser=True)
    client.force_login(admin)
    assert "Nothing is due" in client.get(reverse("my_tasks")).content.decode()
