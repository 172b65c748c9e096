"""The care plan in the browser: the chart's header, care plan, care team and
timeline panels, the plan page with its forms, the edit conflict and its merge
view, Part 2 withholding, the printable plan, and pinned query counts."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calaim import access as registry
from calaim.audit.models import AuditEvent
from calaim.web import panels as panel_registry
from care_plans.models import (
    CarePlan,
    CareTeamMember,
    Encounter,
    Episode,
    Goal,
    Intervention,
)
from care_plans.services import (
    care_conference_record,
    care_plan_agree,
    care_plan_start,
    goal_add,
)
from members.models import MemberGrant, MemberPopulation, PopulationOfFocus
from members.part2 import REDISCLOSURE_NOTICE

TODAY = timezone.localdate


def _chart(client, user, member):
    client.force_login(user)
    response = client.get(reverse("member_chart", args=[member.uuid]))
    assert response.status_code == 200
    return response.content.decode()


def _draft(cast, *, part2=False):
    plan = care_plan_start(
        episode=cast.episode,
        actor=cast.lead_care_manager,
        needs=[
            {"domain": "housing", "description": "Sleeping in a car"},
            {"domain": "substance_use", "description": "Alcohol use"},
        ],
    )
    housing, substance = plan.needs.order_by("position")
    goal_add(
        care_plan=plan,
        need=housing,
        description="A place with a door that locks",
        actor=cast.lead_care_manager,
        expected_version=1,
    )
    if part2:
        goal_add(
            care_plan=plan,
            need=substance,
            description="Keep going to my recovery group",
            part2=True,
            actor=cast.lead_care_manager,
            expected_version=2,
        )
    plan.refresh_from_db()
    return plan


def _post(client, user, name, plan, data, *args):
    client.force_login(user)
    return client.post(reverse(name, args=[plan.uuid, *args]), data)


# --- The chart ------------------------------------------------------------------------


def test_chart_header_shows_episode_lead_populations_and_consent(client, cast):
    population = PopulationOfFocus.objects.filter(age_group="adult").first()
    MemberPopulation.objects.create(
        member=cast.member,
        population=population,
        source=MemberPopulation.Source.PLAN_DATA,
        start_date=TODAY() - timedelta(days=10),
    )

    body = _chart(client, cast.lead_care_manager, cast.member)

    header = body.split("data-chart-header", 1)[1].split("</dl>", 1)[0]
    assert 'data-episode-status="enrolled"' in header
    assert "Lead Care Manager" in header
    assert population.name in header
    assert "No ASCMI on file" in header
    # The header is not also drawn as a panel in the grid.
    assert 'data-panel="chart_header"' not in body


def test_care_manager_starts_a_plan_from_the_chart(client, cast):
    body = _chart(client, cast.lead_care_manager, cast.member)
    assert "Start the care plan" in body

    response = client.post(
        reverse("careplan_start", args=[cast.member.uuid]), {"language": "SPA"}
    )

    plan = CarePlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("careplan_detail", args=[plan.uuid])
    assert plan.language == "SPA"


def test_plan_admin_sees_the_plan_without_forms(client, cast):
    _draft(cast)

    body = _chart(client, cast.plan_admin, cast.member)

    assert "A place with a door that locks" in body
    assert "Start the care plan" not in body
    page = client.get(reverse("careplan_detail", args=[CarePlan.objects.get().uuid]))
    assert page.status_code == 200
    assert "Add a goal" not in page.content.decode()
    assert "Record member agreement" not in page.content.decode()


# --- The plan page --------------------------------------------------------------------


def test_walk_goal_intervention_agreement_makes_the_episode_active(client, cast):
    plan = care_plan_start(
        episode=cast.episode,
        actor=cast.lead_care_manager,
        needs=[{"domain": "food", "description": "Runs out of food"}],
    )
    need = plan.needs.get()

    response = _post(
        client,
        cast.lead_care_manager,
        "careplan_goal_add",
        plan,
        {
            "version": 1,
            "need": need.uid,
            "description": "Three meals a day",
            "target_date": (TODAY() + timedelta(days=60)).isoformat(),
            "status": "not_started",
        },
    )
    assert response.status_code == 302
    goal = Goal.objects.get()
    response = client.post(
        reverse("careplan_intervention_add", args=[plan.uuid]),
        {
            "version": 2,
            "goal": goal.uid,
            "description": "Enroll in CalFresh",
            "responsible": "staff",
            "responsible_user": cast.lead_care_manager.pk,
            "due_date": (TODAY() + timedelta(days=14)).isoformat(),
            "status": "planned",
        },
    )
    assert response.status_code == 302
    assert Intervention.objects.get().responsible_user == cast.lead_care_manager

    response = client.post(
        reverse("careplan_agree", args=[plan.uuid]),
        {"version": 3, "member_agreed_on": TODAY().isoformat()},
    )

    assert response.status_code == 302
    cast.episode.refresh_from_db()
    assert cast.episode.status == Episode.Status.ACTIVE
    body = client.get(reverse("careplan_detail", args=[plan.uuid])).content.decode()
    assert 'data-plan-status="agreed"' in body
    assert 'data-episode-status="active"' in body
    assert "Revise (new version)" in body


def test_goal_without_a_need_is_refused_on_the_page(client, cast):
    plan = care_plan_start(episode=cast.episode, actor=cast.lead_care_manager)

    response = _post(
        client,
        cast.lead_care_manager,
        "careplan_goal_add",
        plan,
        {"version": 1, "description": "Three meals a day", "status": "not_started"},
    )

    assert response.status_code == 400
    assert "Nothing was saved." in response.content.decode()
    assert not Goal.objects.exists()


def test_goal_with_another_plans_need_is_refused(client, cast):
    plan = care_plan_start(episode=cast.episode, actor=cast.lead_care_manager)

    response = _post(
        client,
        cast.lead_care_manager,
        "careplan_goal_add",
        plan,
        {
            "version": 1,
            "need": "00000000-0000-4000-8000-000000000000",
            "description": "Three meals a day",
            "status": "not_started",
        },
    )

    assert response.status_code == 400
    assert "not in this plan" in response.content.decode()
    assert not Goal.objects.exists()


def test_second_save_of_the_same_version_gets_a_merge_view_and_can_reapply(
    client, cast
):
    plan = _draft(cast)
    goal = Goal.objects.get()
    version = plan.lock_version
    # Someone else saves first.
    _post(
        client,
        cast.supervisor,
        "careplan_goal_edit",
        plan,
        {
            "version": version,
            "need": goal.need.uid,
            "description": "Own apartment",
            "status": "in_progress",
        },
        goal.uid,
    )

    response = _post(
        client,
        cast.lead_care_manager,
        "careplan_goal_edit",
        plan,
        {
            "version": version,
            "need": goal.need.uid,
            "description": "Housing near my sister",
            "status": "not_started",
        },
        goal.uid,
    )

    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else saved this care plan" in body
    their = body.split("data-their-change", 1)[1].split("</dl>", 1)[0]
    assert "Housing near my sister" in their
    current = body.split("data-current-plan", 1)[1].split("</div></div>", 1)[0]
    assert "Own apartment" in current
    goal.refresh_from_db()
    assert goal.description == "Own apartment"
    # Re-apply: the form in the merge view resends the change with the new version.
    replay = dict(
        re.findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)">',
            body.split("merge-view", 1)[1].split("</form>", 1)[0],
        )
    )
    assert replay["version"] == str(version + 1)
    response = client.post(
        reverse("careplan_goal_edit", args=[plan.uuid, goal.uid]), replay
    )
    assert response.status_code == 302
    goal.refresh_from_db()
    assert goal.description == "Housing near my sister"


def test_stale_agreement_writes_nothing(client, cast):
    plan = _draft(cast)

    response = _post(
        client,
        cast.lead_care_manager,
        "careplan_agree",
        plan,
        {"version": plan.lock_version - 1, "member_agreed_on": TODAY().isoformat()},
    )

    assert response.status_code == 409
    plan.refresh_from_db()
    assert plan.status == CarePlan.Status.DRAFT
    cast.episode.refresh_from_db()
    assert cast.episode.status == Episode.Status.ENROLLED


def test_revise_from_the_page_starts_version_two(client, cast):
    plan = _draft(cast)
    care_plan_agree(
        care_plan=plan,
        agreed_on=TODAY(),
        actor=cast.lead_care_manager,
        expected_version=plan.lock_version,
    )
    plan.refresh_from_db()

    response = _post(
        client,
        cast.lead_care_manager,
        "careplan_revise",
        plan,
        {"version": plan.lock_version},
    )

    second = CarePlan.objects.get(number=2)
    assert response["Location"] == reverse("careplan_detail", args=[second.uuid])
    assert set(second.goals.values_list("uid", flat=True)) == set(
        plan.goals.values_list("uid", flat=True)
    )


# --- Part 2 ---------------------------------------------------------------------------


def test_part2_goal_is_withheld_from_the_plan_admin_and_audited(client, cast):
    _draft(cast, part2=True)

    body = _chart(client, cast.plan_admin, cast.member)

    assert "Keep going to my recovery group" not in body
    assert "1 goal withheld under 42 CFR Part 2" in body
    assert REDISCLOSURE_NOTICE not in body
    assert AuditEvent.objects.filter(
        object_type="part2_withheld", actor_id=cast.plan_admin.pk
    ).exists()


def test_part2_goal_is_shown_to_the_treating_team_with_the_notice(client, cast):
    _draft(cast, part2=True)

    body = _chart(client, cast.lead_care_manager, cast.member)

    assert "Keep going to my recovery group" in body
    assert REDISCLOSURE_NOTICE in body
    assert not AuditEvent.objects.filter(object_type="part2_withheld").exists()


def test_print_notes_the_language_and_withholds_part2(client, cast):
    plan = _draft(cast, part2=True)
    CarePlan.objects.filter(pk=plan.pk).update(language="SPA")

    client.force_login(cast.lead_care_manager)
    own = client.get(reverse("careplan_print", args=[plan.uuid])).content.decode()
    client.force_login(cast.plan_admin)
    other = client.get(reverse("careplan_print", args=[plan.uuid])).content.decode()

    assert "Preferred language:</strong> Spanish" in own
    assert "Keep going to my recovery group" in own
    assert "42 CFR part 2" in own
    assert "@media print" in own
    assert "Keep going to my recovery group" not in other
    assert "42 CFR part 2" not in other


# --- Care team ------------------------------------------------------------------------


def test_supervisor_adds_a_colleague_who_then_sees_the_chart(client, cast):
    client.force_login(cast.supervisor)
    response = client.post(
        reverse("careteam_add", args=[cast.member.uuid]),
        {"kind": "staff", "user": cast.colleague.pk, "role": "chw"},
    )

    assert response.status_code == 302
    assert MemberGrant.objects.filter(
        user=cast.colleague, kind=MemberGrant.Kind.CARE_TEAM
    ).exists()
    _chart(client, cast.colleague, cast.member)

    row = CareTeamMember.objects.get()
    client.force_login(cast.supervisor)
    client.post(reverse("careteam_remove", args=[row.uuid]))
    client.force_login(cast.colleague)
    assert (
        client.get(reverse("member_chart", args=[cast.member.uuid])).status_code == 404
    )


def test_care_manager_cannot_add_a_colleague(client, cast):
    client.force_login(cast.lead_care_manager)

    response = client.post(
        reverse("careteam_add", args=[cast.member.uuid]),
        {"kind": "staff", "user": cast.colleague.pk, "role": "chw"},
    )

    assert response.status_code == 403
    assert not CareTeamMember.objects.exists()
    assert not MemberGrant.objects.exists()


def test_contact_and_conference_from_the_chart(client, cast):
    client.force_login(cast.lead_care_manager)
    client.post(
        reverse("careteam_add", args=[cast.member.uuid]),
        {
            "kind": "contact",
            "role": "pcp",
            "name": "Dr. Synthetic Example",
            "organization_name": "Example Clinic",
            "email": "pcp@clinic.example",
        },
    )
    response = client.post(
        reverse("conference_add", args=[cast.member.uuid]),
        {"held_on": TODAY().isoformat(), "attendees": "Member, PCP, lead"},
    )
    assert response.status_code == 302

    body = _chart(client, cast.lead_care_manager, cast.member)

    team = body.split('data-panel="care_team"', 1)[1]
    assert "Dr. Synthetic Example" in team
    assert "Member, PCP, lead" in team


def test_conference_in_the_future_writes_nothing(client, cast):
    client.force_login(cast.lead_care_manager)

    response = client.post(
        reverse("conference_add", args=[cast.member.uuid]),
        {
            "held_on": (TODAY() + timedelta(days=3)).isoformat(),
            "attendees": "Member",
        },
    )

    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()


# --- Timeline -------------------------------------------------------------------------


def _history(cast, count):
    """`count` encounters and three conferences in the member's history."""
    Episode.objects.filter(pk=cast.episode.pk).update(
        enrolled_on=TODAY() - timedelta(days=60)
    )
    cast.episode.refresh_from_db()
    for day in range(3):
        care_conference_record(
            episode=cast.episode,
            held_on=TODAY() - timedelta(days=day),
            attendees=f"Conference {day}",
            actor=cast.lead_care_manager,
        )
    for day in range(count):
        Encounter.objects.create(
            episode=cast.episode,
            occurred_on=TODAY() - timedelta(days=day + 1),
            mode="in_person",
            minutes=30,
            hcpcs_code="G9012",
            modifiers=["U2"],
            staff=cast.lead_care_manager,
        )


def test_timeline_merges_everything_newest_first_and_loads_more(client, cast):
    _history(cast, 20)
    _draft(cast)

    body = _chart(client, cast.lead_care_manager, cast.member)
    timeline = body.split('data-panel="ecm_timeline"', 1)[1].split("</section>", 1)[0]
    kinds = re.findall(r'data-timeline-kind="(\w+)"', timeline)
    assert len(kinds) == 15
    assert {"care_plan", "conference", "encounter"} <= set(kinds)
    more = re.search(r'hx-get="([^"]+)"', timeline).group(1).replace("&amp;", "&")

    seen = len(kinds)
    pages = 0
    while more:
        response = client.get(more, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        chunk = response.content.decode()
        seen += len(re.findall(r'data-timeline-kind="(\w+)"', chunk))
        found = re.search(r'hx-get="([^"]+)"', chunk)
        more = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    # 20 encounters, 3 conferences, the plan started: nothing lost or repeated.
    assert seen == 20 + 3 + 1
    assert pages == 1


@pytest.mark.parametrize("history", [2, 30])
def test_timeline_page_query_count_is_pinned(
    client, cast, django_assert_num_queries, history
):
    _history(cast, history)
    client.force_login(cast.lead_care_manager)
    url = reverse("chart_timeline", args=[cast.member.uuid])
    client.get(url)

    # Session, user (with roles), the member with the access check, the timeline
    # (one query for its nine built-in sources), the audit event.
    with django_assert_num_queries(5):
        assert client.get(url).status_code == 200


# --- Query counts ---------------------------------------------------------------------


def _panel(key):
    return next(
        panel
        for panel in panel_registry.chart_panels(registry.CHART)
        if panel.key == key
    )


def _grow(cast, count):
    plan = CarePlan.objects.filter(status="draft").first() or _draft(cast)
    plan.refresh_from_db()
    need = plan.needs.first()
    for number in range(count):
        goal = goal_add(
            care_plan=plan,
            need=need,
            description=f"Goal {number}",
            actor=cast.lead_care_manager,
            expected_version=plan.lock_version,
        )
        plan.refresh_from_db()
        Intervention.objects.create(
            goal=goal, description=f"Step {number}", responsible="member"
        )
        CareTeamMember.objects.create(
            member=cast.member,
            episode=cast.episode,
            kind="contact",
            role="pcp",
            name=f"Contact {number}",
            phone="619-555-0100",
            added_by=cast.lead_care_manager,
            added_at=timezone.now(),
        )
        Encounter.objects.create(
            episode=cast.episode,
            occurred_on=TODAY() - timedelta(days=number),
            mode="video",
            minutes=20,
            hcpcs_code="G9012",
            modifiers=["U2", "GQ"],
            staff=cast.lead_care_manager,
        )


@pytest.mark.parametrize(
    ("key", "queries"),
    [
        # The shared episode read, populations, consent flags.
        ("chart_header", 3),
        # Plans, Part 2 decision, needs, goals, interventions (prefetch).
        ("care_plan", 5),
        # Team, conferences (the episode is shared).
        ("care_team", 2),
        # Every built-in timeline source in one query.
        ("ecm_timeline", 1),
    ],
)
@pytest.mark.parametrize("extra", [0, 6])
def test_each_careplan_panel_has_a_fixed_query_count(
    cast, django_assert_num_queries, key, queries, extra
):
    if extra:
        _grow(cast, extra)
    else:
        _draft(cast)
    request = RequestFactory().get("/")
    request.user = cast.lead_care_manager
    request.chart_scope = registry.CHART
    request.user.organization  # noqa: B018  (loaded by the page already)
    request.user.get_all_permissions()  # loaded by the navigation already
    panel = _panel(key)
    if key != "chart_header":
        # The episode is read once per chart, by the first panel that needs it.
        from care_plans.cm_views import latest_episode

        latest_episode(request, cast.member)

    with django_assert_num_queries(queries):
        context = panel.context(request, cast.member)
        from django.template.loader import render_to_string

        render_to_string(panel.template, context, request=request)


def test_chart_query_count_does_not_grow_with_the_plan_or_history(client, cast):
    client.force_login(cast.lead_care_manager)
    url = reverse("member_chart", args=[cast.member.uuid])
    _draft(cast)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    _grow(cast, 8)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200

    assert len(large) == len(small)


# --- The assessment's suggested needs ------------------------------------------------


def test_start_form_offers_the_assessments_suggested_needs(client, cast):
    from care_plans.assessments import services as assessments
    from tests.care_plans.careplan_support import ANSWERS

    assessment = assessments.assessment_start(
        member=cast.member, actor=cast.lead_care_manager
    )
    assessments.assessment_complete(
        assessment=assessment, answers=ANSWERS, actor=cast.lead_care_manager
    )

    body = _chart(client, cast.lead_care_manager, cast.member)
    offered = re.findall(r'name="suggested" value="(\d+)"', body)
    assert len(offered) >= 2
    # Tick only the first one.
    client.post(
        reverse("careplan_start", args=[cast.member.uuid]),
        {"suggested": [offered[0]], "language": "ENG"},
    )

    plan = CarePlan.objects.get()
    (need,) = plan.needs.all()
    assert need.source == "suggested"
    assert need.domain == "food"
    timeline = _chart(client, cast.lead_care_manager, cast.member)
    assert "Assessment completed" in timeline


def test_plan_page_query_count_does_not_grow_with_goals(client, cast):
    plan = _draft(cast)
    client.force_login(cast.lead_care_manager)
    url = reverse("careplan_detail", args=[plan.uuid])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    _grow(cast, 6)
    with CaptureQueriesContext(connection) as large:
        body = client.get(url).content.decode()

    assert len(large) == len(small)
    # Each goal's forms have their own element ids.
    ids = re.findall(r'id="([^"]+)"', body)
    assert len(ids) == len(set(ids))
