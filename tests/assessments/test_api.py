"""The assessments API: start, save drafts with versions (409 when stale),
complete, read with Part 2 withheld or disclosed with the notice, templates,
the error shape, and pinned query counts."""

import pytest
from django.urls import reverse

from calaim.audit.models import AuditEvent
from care_plans.assessments.models import Assessment
from members import part2
from tests.api_auth import authenticate_api_client
from tests.assessments.support import MINIMAL_ANSWERS, completed, part2_consent, start

pytestmark = pytest.mark.django_db

PART2_ANSWERS = {
    "su_alcohol_frequency": "monthly",
    "su_alcohol_typical": "one_two",
    "su_alcohol_six_plus": "never",
    "su_in_treatment": True,
    "su_treatment_provider": "Synthetic Recovery Center",
}


@pytest.fixture
def api(client, cast):
    return authenticate_api_client(client, cast.provider_api)


def _list_url(cast):
    return reverse("api_member_assessments", args=[cast.member.uuid])


def _url(assessment, name="api_assessment_detail"):
    return reverse(name, args=[assessment.uuid])


def test_a_provider_system_assesses_a_member_end_to_end(api, cast):
    response = api.post(_list_url(cast), {}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["template"]["code"] == "ecm-comprehensive"
    assert response["ETag"] == '"1"'

    response = api.patch(
        reverse("api_assessment_detail", args=[body["id"]]),
        {"version": 1, "answers": {"ph_overall": "fair", "phq_1": "several_days"}},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["answers"] == {"ph_overall": "fair", "phq_1": "several_days"}

    response = api.post(
        reverse("api_assessment_complete", args=[body["id"]]),
        {"answers": MINIMAL_ANSWERS},
        content_type="application/json",
        HTTP_IF_MATCH='"2"',
    )
    assert response.status_code == 200, response.json()
    done = response.json()
    assert done["status"] == "completed"
    assert done["completed_date"] is not None
    assert done["scores"]["phq2"]["band"] == "negative"
    assert AuditEvent.objects.filter(object_type="assessment").exists()


def test_a_stale_version_is_409(api, cast):
    draft = start(cast)
    first = api.patch(
        _url(draft),
        {"version": 1, "answers": {"ph_overall": "good"}},
        content_type="application/json",
    )
    assert first.status_code == 200
    second = api.patch(
        _url(draft),
        {"version": 1, "answers": {"ph_overall": "poor"}},
        content_type="application/json",
    )
    assert second.status_code == 409
    assert second.json()["errors"][0]["code"] == "stale_version"
    assert Assessment.objects.get(pk=draft.pk).answers == {"ph_overall": "good"}


def test_a_write_without_a_version_is_refused(api, cast):
    draft = start(cast)
    response = api.patch(
        _url(draft),
        {"answers": {"ph_overall": "good"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "version",
            "code": "required",
            "message": "Send the version you last read (in the body or an "
            "If-Match header).",
        }
    ]


def test_bad_answers_are_named_in_the_house_error_shape(api, cast):
    draft = start(cast)
    response = api.patch(
        _url(draft),
        {"version": 1, "answers": {"ph_overall": "splendid", "nope": 1,
                                   "ph_ed_visits": 3}},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    errors = {error["field"]: error["code"] for error in response.json()["errors"]}
    assert errors == {
        "answers.ph_overall": "invalid_choice",
        "answers.nope": "unknown_question",
    }
    draft.refresh_from_db()
    assert (draft.answers, draft.version) == ({}, 1)


def test_completing_with_required_answers_missing_is_400(api, cast):
    draft = start(cast)
    response = api.post(
        _url(draft, "api_assessment_complete"),
        {"version": 1, "answers": {"ph_overall": "good"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    codes = {error["code"] for error in response.json()["errors"]}
    assert codes == {"required"}
    assert Assessment.objects.get(pk=draft.pk).status == "draft"


def test_a_second_start_is_409_draft_exists(api, cast):
    start(cast)
    response = api.post(_list_url(cast), {}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "draft_exists"


def test_part2_is_withheld_from_a_client_without_consent(api, cast):
    done = completed(cast, PART2_ANSWERS)
    body = api.get(_url(done)).json()
    assert body["part2_withheld"] is True
    assert "su_treatment_provider" not in body["answers"]
    assert "alcohol_use" not in body["scores"]
    assert "part2_notice" not in body
    assert body["answers"]["ph_overall"] == "good"
    assert AuditEvent.objects.filter(
        object_type="part2_withheld", member_ids=[cast.member.pk]
    ).exists()

    listed = api.get(_list_url(cast)).json()
    assert "part2_notice" not in listed
    assert "su_treatment_provider" not in listed["results"][0]["answers"]


def test_part2_is_disclosed_with_the_notice_under_a_consent(api, cast):
    done = completed(cast, PART2_ANSWERS)
    part2_consent(cast, cast.ecm_provider)
    body = api.get(_url(done)).json()
    assert body["part2_withheld"] is False
    assert body["answers"]["su_treatment_provider"] == "Synthetic Recovery Center"
    assert body["scores"]["alcohol_use"]["value"] == 1
    assert body["part2_notice"] == part2.REDISCLOSURE_NOTICE
    listed = api.get(_list_url(cast)).json()
    assert listed["part2_notice"] == part2.REDISCLOSURE_NOTICE


def test_the_treating_care_manager_reads_part2(client, cast):
    done = completed(cast, PART2_ANSWERS)
    client.force_login(cast.lead_care_manager)
    body = client.get(_url(done)).json()
    assert body["answers"]["su_in_treatment"] is True
    assert body["part2_notice"] == part2.REDISCLOSURE_NOTICE


def test_templates_list_the_published_definitions(api, cast):
    body = api.get(reverse("api_assessment_templates")).json()
    (template,) = body["results"]
    assert template["code"] == "ecm-comprehensive"
    assert template["status"] == "published"
    keys = [s["key"] for s in template["definition"]["sections"]]
    assert "substance_use" in keys


def test_the_list_query_count_is_pinned(api, cast, django_assert_num_queries):
    api.get(_list_url(cast))  # the token's first use
    completed(cast, PART2_ANSWERS)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        api.get(_list_url(cast))
    for _ in range(3):
        completed(cast, PART2_ANSWERS)
    with django_assert_num_queries(len(one)):
        response = api.get(_list_url(cast))
    assert len(response.json()["results"]) == 4


def test_the_detail_query_count_is_pinned(api, cast, django_assert_num_queries):
    done = completed(cast)
    api.get(_url(done))
    # The token (with its user), the assessment, roles, the access check, the
    # Part 2 check (the answers include the substance-use section), the
    # withholding's audit event and the request's.
    with django_assert_num_queries(7):
        api.get(_url(done))


def test_starting_with_a_template_that_is_not_published_is_refused(api, cast):
    from care_plans.assessments import services

    draft_template = services.template_new_version(
        template=services.current_template(), actor=cast.plan_admin
    )
    response = api.post(
        _list_url(cast),
        {"template_id": str(draft_template.uuid)},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "not_published"
    response = api.post(
        _list_url(cast),
        {"template_id": "00000000-0000-4000-8000-000000000000"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "template_id",
        "code": "not_found",
        "message": "No such template.",
    }
    assert not Assessment.objects.exists()
