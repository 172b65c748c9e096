"""The audit trail: append-only, one event per request, the auditor's page."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from calaim.audit.middleware import AuditMiddleware, RequestIdMiddleware
from calaim.audit.models import AuditEvent
from calaim.audit.services import audit_record
from tests.factories import PASSWORD, EnrollmentFactory, MemberFactory


def _event(**fields):
    defaults = {"occurred_at": timezone.now(), "action": "view"}
    return AuditEvent.objects.create(**{**defaults, **fields})


@pytest.mark.django_db
def test_the_database_refuses_update_and_delete():
    event = _event(actor_label="someone@example.org")
    for statement in (
        "UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.actor_label == "someone@example.org"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_truncate_stays_possible_for_test_flushes():
    _event()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")
    assert not AuditEvent.objects.exists()


def _through_middleware(view, user):
    request = RequestFactory().get("/somewhere/", HTTP_USER_AGENT="pytest-agent")
    request.user = user
    chain = RequestIdMiddleware(AuditMiddleware(view))
    return chain(request)


def test_a_request_that_touches_members_writes_exactly_one_event(cast):
    other = MemberFactory()

    def view(request):
        audit_record(action="view", object_type="member", member_ids=[cast.member.pk])
        audit_record(
            action="update",
            object_type="episode",
            object_id="e1",
            member_ids=[other.pk],
        )
        audit_record(action="view", object_type="member", member_ids=[cast.member.pk])
        return HttpResponse("ok")

    response = _through_middleware(view, cast.lead_care_manager)
    event = AuditEvent.objects.get()
    assert event.action == "update"  # the most significant action wins
    assert event.object_type == "episode"
    assert sorted(event.member_ids) == sorted([cast.member.pk, other.pk])
    assert event.actor_id == cast.lead_care_manager.pk
    assert event.organization_id == cast.ecm_provider.pk
    assert event.user_agent == "pytest-agent"
    assert event.request_id == response["X-Request-ID"]
    assert event.status_code == 200


def test_a_request_that_touches_nothing_writes_no_event(cast):
    _through_middleware(lambda request: HttpResponse("ok"), cast.lead_care_manager)
    assert not AuditEvent.objects.exists()


def test_sign_in_and_failed_sign_in_are_recorded(cast, client):
    client.post(reverse("login"), {"username": cast.auditor.email, "password": "wrong"})
    client.post(
        reverse("login"), {"username": cast.auditor.email, "password": PASSWORD}
    )
    failed, succeeded = AuditEvent.objects.order_by("id")
    assert failed.action == "login_failed"
    assert failed.actor_id is None
    assert failed.actor_label == cast.auditor.email
    assert failed.ip_address == "127.0.0.1"
    assert succeeded.action == "login"
    assert succeeded.actor_id == cast.auditor.pk


def test_sign_out_is_recorded(cast, client):
    client.force_login(cast.auditor)
    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(action="logout", actor_id=cast.auditor.pk).exists()


# --- The auditor's page ------------------------------------------------------------


def _audit_page(client, viewer, **params):
    client.force_login(viewer)  # itself recorded: a sign-in event by the viewer
    return client.get(reverse("audit_log"), params)


def test_the_plans_auditor_sees_who_opened_its_members_from_any_organization(
    cast, client
):
    _event(
        actor_id=cast.other_care_manager.pk,
        actor_label="break.glass@other.example",
        organization_id=cast.other_ecm_provider.pk,
        member_ids=[cast.member.pk],
        action="break_glass",
    )
    _event(
        actor_label="stranger@other.example",
        organization_id=cast.other_plan.pk,
        member_ids=[cast.other_member.pk],
    )
    response = _audit_page(client, cast.auditor)
    body = response.content.decode()
    assert response.status_code == 200
    assert "break.glass@other.example" in body
    assert cast.member.cin in body
    assert "stranger@other.example" not in body
    assert cast.other_member.cin not in body


def test_events_by_my_organization_show_members_i_cannot_see_without_their_cin(
    cast, client
):
    # A colleague at the plan touched a member who is not the plan's: the auditor sees
    # the event (their organization's staff) but not who the member is.
    _event(
        actor_label="plan.colleague@cast.example",
        organization_id=cast.plan.pk,
        member_ids=[cast.other_member.pk],
    )
    body = _audit_page(client, cast.auditor).content.decode()
    assert "plan.colleague@cast.example" in body
    assert f"member #{cast.other_member.pk}" in body
    assert cast.other_member.cin not in body


def test_filters_by_member_user_action_and_date(cast, client):
    now = timezone.now()
    _event(
        actor_label="a@cast.example",
        organization_id=cast.plan.pk,
        member_ids=[cast.member.pk],
        action="view",
        occurred_at=now - timedelta(days=10),
    )
    _event(
        actor_label="b@cast.example",
        organization_id=cast.plan.pk,
        member_ids=[cast.member.pk],
        action="update",
    )
    _event(actor_label="c@cast.example", organization_id=cast.plan.pk, action="login")

    def labels(**params):
        body = _audit_page(client, cast.auditor, **params).content.decode()
        return {name for name in ("a@", "b@", "c@") if f"{name}cast.example" in body}

    assert labels(member=cast.member.cin) == {"a@", "b@"}
    assert labels(member=cast.member.cin.lower()) == {"a@", "b@"}
    assert labels(user="c@cast.example") == {"c@"}
    assert labels(action="update") == {"b@"}
    today = timezone.localdate()
    assert labels(date_from=(today - timedelta(days=1)).isoformat()) == {"b@", "c@"}
    assert labels(date_to=(today - timedelta(days=5)).isoformat()) == {"a@"}
    # A member the auditor may not see gives nothing, not an error that leaks.
    assert labels(member=cast.other_member.cin) == set()


def test_a_bad_filter_is_a_clear_400(cast, client):
    response = _audit_page(
        client,
        cast.auditor,
        date_from="2026-02-01",
        date_to="2026-01-01",
        action="nonsense",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The end date is before the start date." in body
    assert "Select a valid choice" in body


def test_pages_are_keyset_paginated_newest_first(cast, client):
    for number in range(55):
        _event(
            actor_label=f"user{number:02d}@cast.example", organization_id=cast.plan.pk
        )
    # 50 a page: the auditor's own sign-in event, then user54 down to user06.
    first = _audit_page(client, cast.auditor).content.decode()
    assert "user54@cast.example" in first
    assert "user06@cast.example" in first
    assert "user05@cast.example" not in first
    older = first.split("before=")[1].split('"')[0]
    second = client.get(reverse("audit_log"), {"before": older}).content.decode()
    assert "user05@cast.example" in second
    assert "user00@cast.example" in second
    assert "user06@cast.example" not in second
    assert "Older events" not in second


def test_the_audit_page_is_itself_audited(cast, client):
    _event(
        actor_label="x@cast.example",
        organization_id=cast.plan.pk,
        member_ids=[cast.member.pk],
    )
    _audit_page(client, cast.auditor)
    event = AuditEvent.objects.get(object_type="audit_log")
    assert event.actor_id == cast.auditor.pk
    assert event.member_ids == [cast.member.pk]


def test_the_audit_page_query_count_does_not_grow_with_rows(
    cast, client, django_assert_max_num_queries
):
    members = [MemberFactory() for _ in range(5)]
    for member in members:
        EnrollmentFactory(member=member, plan=cast.plan)
    for number in range(40):
        _event(
            actor_label=f"u{number}@cast.example",
            organization_id=cast.plan.pk,
            member_ids=[members[number % 5].pk],
        )
    client.force_login(cast.auditor)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("audit_log"))
    assert response.status_code == 200
