"""The pages: alert inbox, chart panel, transitional-care queue, unmatched queue.
Query counts are pinned and do not grow with the rows."""

import pytest
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from calaim.accounts import roles
from calaim.audit.models import AuditEvent
from calaim.web.panels import chart_panels
from care_plans.transitions.models import Alert, TransitionEvent
from tests import factories
from tests.transitions.adt import build_adt, make_world, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def _ed_visits(world, count, **message):
    for number in range(count):
        send(
            world,
            build_adt("A04", patient_class="E", visit_number=f"ED{number}", **message),
        )


@pytest.mark.parametrize("rows", [1, 4])
def test_alert_inbox_lists_own_alerts_in_pinned_queries(
    client, world, rows, django_assert_num_queries
):
    world.member()
    _ed_visits(world, rows)
    client.force_login(world.lead)
    client.get(reverse("transition_alerts"))  # warm the session

    # Session, user (with roles, permissions and organization), alerts (with the
    # visibility as a subquery), audit insert.
    with django_assert_num_queries(4):
        response = client.get(reverse("transition_alerts"))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("Acknowledge<span") == rows
    assert "Testperson, Jane" in page


def test_acknowledge_with_htmx_redraws_the_row(client, world):
    world.member()
    _ed_visits(world, 1)
    alert = Alert.objects.get(recipient=world.lead)
    client.force_login(world.lead)

    response = client.post(
        reverse("transition_alert_acknowledge", args=[alert.uuid]),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Acknowledged" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.lead
    assert AuditEvent.objects.filter(
        object_type="transition_alert", reason="acknowledged"
    ).exists()
    # Gone from the default (unacknowledged) view, kept in "all".
    assert "Testperson" not in client.get(reverse("transition_alerts")).content.decode()
    everything = client.get(reverse("transition_alerts"), {"show": "all"})
    assert "Testperson" in everything.content.decode()


def test_inbox_does_not_name_a_member_who_left_the_caseload(client, world):
    member = world.member()
    _ed_visits(world, 1)
    member.episodes.update(closed_at=timezone.now(), status="discontinued")
    client.force_login(world.lead)

    page = client.get(reverse("transition_alerts")).content.decode()

    assert "Testperson" not in page
    assert "No longer on your caseload" in page


def _render_panel(rf, user, member):
    panel = {panel.key: panel for panel in chart_panels("chart")}["transitions"]
    request = rf.get("/")
    request.user = user
    return get_template(panel.template).render(panel.context(request, member))


@pytest.mark.parametrize("rows", [1, 5])
def test_chart_panel_shows_events_in_one_query(
    rf, world, rows, django_assert_num_queries
):
    member = world.member()
    _ed_visits(world, rows)
    send(world, build_adt("A11", patient_class="E", visit_number="ED0"))

    with django_assert_num_queries(1):
        html = _render_panel(rf, world.lead, member)

    assert html.count("Registration / ED visit") == rows
    assert "<del>Registration / ED visit</del>" in html
    assert "Admission cancelled" in html


def test_chart_page_has_the_transitions_panel(client, world):
    member = world.member()
    _ed_visits(world, 1)
    client.force_login(world.lead)

    page = client.get(reverse("member_chart", args=[member.uuid])).content.decode()

    assert 'id="panel-transitions"' in page
    assert "MERCYGEN" in page


@pytest.mark.parametrize("rows", [1, 4])
def test_plan_queue_lists_members_without_a_care_manager(
    client, world, rows, django_assert_num_queries
):
    world.member(episode=False)
    world.member("enid", cin="97654321B", first_name="Enid", episode=True)
    _ed_visits(world, rows)
    send(
        world,
        build_adt(
            "A04", pid3="97654321B^^^DHCS^MA", first_name="ENID", visit_number="X"
        ),
    )
    admin = factories.UserFactory(organization=world.plan, roles=[roles.PLAN_ADMIN])
    client.force_login(admin)
    client.get(reverse("transition_queue"))

    # Session, user (with roles, permissions and organization), events (with
    # open-task flags), audit insert.
    with django_assert_num_queries(4):
        response = client.get(reverse("transition_queue"))

    page = response.content.decode()
    assert page.count("Registration / ED visit") == rows
    assert "Enid" not in page  # she has a lead care manager


def test_another_plans_admin_sees_an_empty_queue(client, world):
    world.member(episode=False)
    _ed_visits(world, 1)
    other = factories.UserFactory(
        organization=factories.OrganizationFactory(plan=True), roles=[roles.PLAN_ADMIN]
    )
    client.force_login(other)

    assert "Testperson" not in client.get(reverse("transition_queue")).content.decode()


@pytest.fixture
def interface_admin(world):
    return factories.UserFactory(organization=world.plan, roles=[roles.INTERFACE_ADMIN])


def _unmatched(world, count=1, **message):
    message.setdefault("pid3", "MRN1^^^MERCY^MR")
    return [
        send(world, build_adt("A01", visit_number=f"U{number}", **message))
        for number in range(count)
    ]


@pytest.mark.parametrize("rows", [1, 4])
def test_unmatched_queue_in_pinned_queries(
    client, world, interface_admin, rows, django_assert_num_queries
):
    _unmatched(world, rows, first_name="NOBODY")
    client.force_login(interface_admin)
    client.get(reverse("transition_unmatched"))

    # Session, user (with roles, permissions and organization), messages (with
    # their senders), audit insert.
    with django_assert_num_queries(4):
        response = client.get(reverse("transition_unmatched"))

    assert response.content.decode().count("Resolve<span") == rows


def test_unmatched_detail_suggests_members_of_the_plan_only(
    client, world, interface_admin
):
    mine = world.member(episode=False)  # same name and birth date, sex differs
    world.member("twin", cin="97654321B", episode=False)
    elsewhere = factories.MemberFactory(
        cin="95555555C", first_name="Jane", last_name="Testperson"
    )
    factories.EnrollmentFactory(member=elsewhere)
    [message] = _unmatched(world, sex="M")
    client.force_login(interface_admin)

    response = client.get(reverse("transition_unmatched_detail", args=[message.uuid]))

    page = response.content.decode()
    assert mine.cin in page
    assert "97654321B" in page
    assert elsewhere.cin not in page
    viewed = AuditEvent.objects.filter(object_type="hl7_message").last()
    assert sorted(viewed.member_ids) == sorted([mine.pk, world.members["twin"].pk])


def test_candidate_search_needs_a_cin_or_last_name_and_birth_date(
    client, world, interface_admin
):
    member = world.member(episode=False)
    [message] = _unmatched(world, last_name="OTHER", birth_date="19700101")
    client.force_login(interface_admin)
    url = reverse("transition_unmatched_detail", args=[message.uuid])

    broad = client.get(url, {"last_name": "Testperson"}).content.decode()
    by_cin = client.get(url, {"cin": member.cin}).content.decode()
    by_name = client.get(
        url, {"last_name": "testperson", "birth_date": "1980-05-17"}
    ).content.decode()

    assert "Search with a CIN, or with a last name and a birth date." in broad
    assert member.cin not in broad
    assert member.cin in by_cin
    assert member.cin in by_name


def test_link_processes_the_message_as_if_matched(client, world, interface_admin):
    member = world.member()
    [message] = _unmatched(world, first_name="JAN")
    client.force_login(interface_admin)

    response = client.post(
        reverse("transition_unmatched_link", args=[message.uuid]),
        {"member": str(member.uuid)},
    )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "processed"
    event = TransitionEvent.objects.get(message=message)
    assert event.member == member
    assert Alert.objects.filter(event=event, recipient=world.lead).exists()


def test_link_to_a_member_of_another_plan_is_refused(client, world, interface_admin):
    elsewhere = factories.MemberFactory(cin="95555555C")
    factories.EnrollmentFactory(member=elsewhere)
    [message] = _unmatched(world, first_name="JAN")
    client.force_login(interface_admin)

    response = client.post(
        reverse("transition_unmatched_link", args=[message.uuid]),
        {"member": str(elsewhere.uuid)},
    )

    assert response.status_code == 400
    message.refresh_from_db()
    assert message.status == "unmatched"
    assert message.member is None
    assert not TransitionEvent.objects.exists()


def test_dismiss_needs_a_reason(client, world, interface_admin):
    [message] = _unmatched(world, first_name="JAN")
    client.force_login(interface_admin)
    url = reverse("transition_unmatched_dismiss", args=[message.uuid])

    assert client.post(url, {"reason": "  "}).status_code == 400
    message.refresh_from_db()
    assert message.status == "unmatched"

    assert client.post(url, {"reason": "Not a member of ours"}).status_code == 302
    message.refresh_from_db()
    assert message.status == "dismissed"
    assert "Not a member of ours" in message.error
    # A dismissed message is no longer in the queue.
    detail = reverse("transition_unmatched_detail", args=[message.uuid])
    assert client.get(detail).status_code == 404
