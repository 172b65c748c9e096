"""Assessment pages: the chart panel, the form (draft, resume, complete, errors,
conflict), the htmx refresh of conditional questions, the read-only view, the
history, Part 2 withholding, and pinned query counts."""

import re

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from calaim import access as registry
from calaim.audit.models import AuditEvent
from calaim.web import panels as panel_registry
from care_plans.assessments import services
from care_plans.assessments.models import Assessment
from members import part2
from members.access import access_member
from tests.assessments.support import MINIMAL_ANSWERS, completed, part2_consent, start

pytestmark = pytest.mark.django_db


def _chart(client, user, member):
    client.force_login(user)
    response = client.get(reverse("member_chart", args=[member.uuid]))
    assert response.status_code == 200
    return response.content.decode()


def _panel_html(body):
    match = re.search(r'data-panel="assessment">(.*?)</section>', body, flags=re.DOTALL)
    assert match, "no assessment panel"
    return match.group(1)


def _form_post(assessment, action="save", **answers):
    """The form's POST: every given answer with its `present` marker."""
    data = {"version": str(assessment.version), "action": action, "present": []}
    for key, value in answers.items():
        data["present"].append(key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        data[f"q-{key}"] = value if isinstance(value, list) else str(value)
    return data


# --- The chart panel ----------------------------------------------------------------


def test_panel_offers_the_care_manager_a_start(client, cast):
    panel = _panel_html(_chart(client, cast.lead_care_manager, cast.member))
    assert "No assessment yet." in panel
    assert "Start assessment" in panel


def test_panel_shows_status_dates_and_scores_without_part2(client, cast):
    completed(cast, {"phq_1": "nearly_every_day", "phq_2": "nearly_every_day",
                     **{f"phq_{n}": "not_at_all" for n in range(3, 10)}})  # fmt: skip
    start(cast)
    panel = _panel_html(_chart(client, cast.lead_care_manager, cast.member))
    assert "Draft" in panel
    assert "Resume the draft" in panel
    assert "PHQ-2" in panel
    assert "PHQ-9" in panel
    assert "Mild" in panel  # PHQ-9 6
    assert "Alcohol" not in panel  # a Part 2 score: on the assessment's page only
    assert "All assessments (2)" in panel


def test_panel_gives_plan_administrators_no_write_links(client, cast):
    completed(cast)
    panel = _panel_html(_chart(client, cast.plan_admin, cast.member))
    assert "View the last completed" in panel
    assert "Start assessment" not in panel
    assert "Resume" not in panel


def test_the_panel_is_one_query_once_the_episode_is_read(
    cast, django_assert_num_queries
):
    for _ in range(3):
        completed(cast)
    start(cast)
    from care_plans.cm_views import latest_episode

    panel = next(
        panel
        for panel in panel_registry.chart_panels(registry.CHART)
        if panel.key == "assessment"
    )
    request = RequestFactory().get("/")
    request.user = cast.lead_care_manager
    request.chart_scope = registry.CHART
    request.user.get_all_permissions()  # the navigation loaded them
    member = access_member(request.user, cast.member.uuid, audit=False)
    latest_episode(request, member)  # the ECM panels read it first

    with django_assert_num_queries(1):
        html = render_to_string(
            panel.template, panel.context(request, member), request=request
        )
    assert "Casey" not in html  # panels never repeat the header's identifiers


# --- The form -----------------------------------------------------------------------


def test_start_from_the_chart_then_save_resume_and_complete(client, cast):
    client.force_login(cast.lead_care_manager)
    response = client.post(reverse("assessment_start", args=[cast.member.uuid]))
    assessment = Assessment.objects.get()
    assert response["Location"] == reverse("assessment_edit", args=[assessment.uuid])

    page = client.get(response["Location"]).content.decode()
    for title in ("Physical health", "Behavioral health", "Substance use",
                  "Social needs", "Functional status", "Medications",
                  "Caregiver and supports", "Goals and strengths"):  # fmt: skip
        assert title in page
    assert 'name="q-phq_1"' in page
    assert 'id="question-phq_3"' in page  # the placeholder of a hidden question
    assert 'name="q-phq_3"' not in page

    response = client.post(
        reverse("assessment_edit", args=[assessment.uuid]),
        _form_post(assessment, ph_overall="fair", ph_ed_visits=2),
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.answers == {"ph_overall": "fair", "ph_ed_visits": 2}

    # Resume: the saved answers are in the form, and the question they show.
    page = client.get(reverse("assessment_edit", args=[assessment.uuid]))
    body = page.content.decode()
    assert 'value="fair" autocomplete="off" checked' in body
    assert 'name="q-ph_ed_reason"' in body

    answers = {**MINIMAL_ANSWERS, "ph_overall": "fair", "ph_ed_visits": 2}
    response = client.post(
        reverse("assessment_edit", args=[assessment.uuid]),
        _form_post(assessment, action="complete", **answers),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("assessment_detail", args=[assessment.uuid])
    assessment.refresh_from_db()
    assert assessment.status == "completed"
    assert assessment.answers["ph_overall"] == "fair"


def test_completing_with_missing_answers_shows_them_and_writes_nothing(client, cast):
    assessment = start(cast)
    client.force_login(cast.lead_care_manager)
    response = client.post(
        reverse("assessment_edit", args=[assessment.uuid]),
        _form_post(assessment, action="complete", ph_overall="good", ph_ed_visits="x"),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert 'id="q-ph_ed_visits-error"' in body
    assert "Give a number." in body
    assert 'value="x"' in body  # what was typed stays in the form
    assert "an answer is required" in body
    assessment.refresh_from_db()
    assert (assessment.status, assessment.answers, assessment.version) == (
        "draft",
        {},
        1,
    )


def test_a_second_saver_gets_a_conflict_not_an_overwrite(client, cast):
    assessment = start(cast)
    stale_form = _form_post(assessment, ph_overall="poor")
    services.assessment_save_draft(
        assessment=assessment, answers={"ph_overall": "good"}, actor=cast.supervisor
    )
    client.force_login(cast.lead_care_manager)
    response = client.post(
        reverse("assessment_edit", args=[assessment.uuid]), stale_form
    )
    assert response.status_code == 409
    assert "changed since you loaded it" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.answers == {"ph_overall": "good"}


def test_refresh_swaps_only_the_questions_whose_display_changes(client, cast):
    assessment = start(cast)
    client.force_login(cast.lead_care_manager)
    url = reverse("assessment_refresh", args=[assessment.uuid])

    response = client.post(
        url, {"present": ["phq_1", "phq_2"], "q-phq_1": "nearly_every_day"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    shown = re.findall(r'id="question-(phq_\d)" [^>]*hx-swap-oob="true"', body)
    assert shown == [f"phq_{n}" for n in range(3, 10)]
    assert 'name="q-phq_9"' in body

    # Already on the page: nothing to swap.
    on_page = ["phq_1", "phq_2", *shown]
    response = client.post(url, {"present": on_page, "q-phq_1": "nearly_every_day"})
    assert response.status_code == 204

    # PHQ-2 back under 3: the seven disappear (empty placeholders).
    response = client.post(url, {"present": on_page, "q-phq_1": "not_at_all"})
    body = response.content.decode()
    assert body.count("hidden") == 7
    assert 'name="q-phq_3"' not in body
    assessment.refresh_from_db()
    assert assessment.answers == {}  # nothing written


def test_the_read_only_view_shows_answers_scores_and_needs(client, cast):
    done = completed(cast, {"hrsn_transportation": True, "ph_has_pcp": True,
                            "ph_pcp_name": "Harbor Clinic"})  # fmt: skip
    client.force_login(cast.plan_admin)
    body = client.get(reverse("assessment_detail", args=[done.uuid])).content.decode()
    assert "Harbor Clinic" in body
    assert "PHQ-2" in body
    assert "Transportation barrier to care and daily needs" in body
    assert "Continue the assessment" not in body


def test_history_lists_every_assessment_in_fixed_queries(
    client, cast, django_assert_num_queries
):
    client.force_login(cast.plan_admin)
    url = reverse("assessment_history", args=[cast.member.uuid])
    client.get(url)
    counts = []
    for _ in range(2):
        completed(cast)
        completed(cast)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert response.content.decode().count("<tr>") == 4 + 1
    with django_assert_num_queries(counts[0]):
        client.get(url)


# --- Part 2 -------------------------------------------------------------------------

PART2_ANSWERS = {
    "su_alcohol_frequency": "two_three_week",
    "su_alcohol_typical": "three_four",
    "su_alcohol_six_plus": "monthly",
    "su_in_treatment": True,
    "su_treatment_provider": "Synthetic Recovery Center",
}


def test_part2_answers_are_withheld_from_the_plan_and_the_withholding_audited(
    client, cast
):
    done = completed(cast, PART2_ANSWERS)
    client.force_login(cast.plan_admin)
    body = client.get(reverse("assessment_detail", args=[done.uuid])).content.decode()
    assert "Synthetic Recovery Center" not in body
    assert "Alcohol use" not in body
    assert "data-part2-withheld" in body
    assert part2.REDISCLOSURE_NOTICE not in body
    assert "PHQ-2" in body  # the rest is shown
    withheld = AuditEvent.objects.filter(object_type="part2_withheld")
    assert withheld.count() == 1
    assert withheld.get().member_ids == [cast.member.pk]


def test_the_treating_care_manager_sees_part2_with_the_notice(client, cast):
    done = completed(cast, PART2_ANSWERS)
    client.force_login(cast.lead_care_manager)
    body = client.get(reverse("assessment_detail", args=[done.uuid])).content.decode()
    assert "Synthetic Recovery Center" in body
    assert "Alcohol use" in body
    assert part2.REDISCLOSURE_NOTICE in body
    assert not AuditEvent.objects.filter(object_type="part2_withheld").exists()


def test_a_consent_naming_the_plan_lets_it_see_part2(client, cast):
    done = completed(cast, PART2_ANSWERS)
    part2_consent(cast, cast.plan)
    client.force_login(cast.plan_admin)
    body = client.get(reverse("assessment_detail", args=[done.uuid])).content.decode()
    assert "Synthetic Recovery Center" in body
    assert part2.REDISCLOSURE_NOTICE in body


def test_a_writer_outside_the_treating_team_keeps_part2_out_of_the_form(client, cast):
    draft = start(cast)
    services.assessment_save_draft(
        assessment=draft, answers=PART2_ANSWERS, actor=cast.lead_care_manager
    )
    client.force_login(cast.supervisor)
    url = reverse("assessment_edit", args=[draft.uuid])
    body = client.get(url).content.decode()
    assert 'name="q-su_alcohol_frequency"' not in body
    assert "Synthetic Recovery Center" not in body
    assert "data-part2-withheld" in body
    # A save from that form leaves the Part 2 answers as they were, even when
    # the POST names them.
    draft.refresh_from_db()
    data = _form_post(draft, ph_overall="good", su_in_treatment=False)
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.answers == {**PART2_ANSWERS, "ph_overall": "good"}
