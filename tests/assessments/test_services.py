"""Assessment services: start, draft, resume, complete; bad input writes nothing;
who may write; stale versions; templates are versioned and published ones frozen."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import ProgrammingError, transaction
from django.http import Http404
from django.utils import timezone

from calaim.audit.models import AuditEvent
from calaim.errors import ConflictError
from care_plans.assessments import selectors, services
from care_plans.assessments.models import Assessment, AssessmentTemplate
from care_plans.models import Episode
from members.models import MemberGrant
from tests.assessments.support import MINIMAL_ANSWERS, completed, start

pytestmark = pytest.mark.django_db


def _rows():
    return list(Assessment.objects.values_list("answers", "status", "version"))


def test_the_standard_template_is_seeded_and_published(db):
    template = services.current_template()
    assert template.name == "ECM comprehensive assessment"
    assert template.version == 1
    assert template.status == "published"


def test_start_save_resume_and_complete(cast):
    draft = start(cast)
    assert draft.status == "draft"
    assert draft.episode == cast.episode
    assert draft.template == services.current_template()

    draft = services.assessment_save_draft(
        assessment=draft,
        answers={"ph_overall": "fair", "phq_1": "nearly_every_day"},
        actor=cast.lead_care_manager,
        expected_version=1,
    )
    assert draft.version == 2
    # Resume: a later save adds to the draft; null clears one answer.
    draft = services.assessment_save_draft(
        assessment=Assessment.objects.get(pk=draft.pk),
        answers={"ph_overall": None, "ph_ed_visits": 1},
        actor=cast.lead_care_manager,
    )
    assert draft.answers == {"phq_1": "nearly_every_day", "ph_ed_visits": 1}

    done = services.assessment_complete(
        assessment=draft,
        answers={**MINIMAL_ANSWERS, "phq_1": "nearly_every_day",
                 "phq_2": "nearly_every_day",
                 **{f"phq_{n}": "several_days" for n in range(3, 10)}},
        actor=cast.lead_care_manager,
        expected_version=3,
    )  # fmt: skip
    assert done.status == "completed"
    assert done.completed_by == cast.lead_care_manager
    assert done.scores["phq2"]["value"] == 6
    assert done.scores["phq9"]["value"] == 13
    assert done.scores["phq9"]["band"] == "moderate"
    # Never drinks: the two follow-up items are hidden and count as 0.
    assert done.scores["alcohol_use"]["value"] == 0
    assert done.scores["alcohol_use"]["part2"] is True
    events = AuditEvent.objects.filter(object_type="assessment")
    assert [e.reason for e in events.order_by("id")] == [
        "",
        "save_draft",
        "save_draft",
        "complete",
    ]


def test_completion_drops_hidden_answers_and_requires_shown_ones(cast):
    draft = start(cast)
    draft = services.assessment_save_draft(
        assessment=draft,
        answers={"ph_has_pcp": True, "ph_pcp_name": "Harbor Clinic", "med_count": 2},
        actor=cast.lead_care_manager,
    )
    # med_count 2 shows the required med_trouble; the answers below hide the PCP name.
    with pytest.raises(ValidationError) as caught:
        services.assessment_complete(
            assessment=draft,
            answers={**MINIMAL_ANSWERS, "med_count": 2, "ph_has_pcp": False},
            actor=cast.lead_care_manager,
        )
    assert set(caught.value.message_dict) == {"answers.med_trouble"}
    assert caught.value.error_dict["answers.med_trouble"][0].code == "required"
    assert Assessment.objects.get(pk=draft.pk).status == "draft"

    done = services.assessment_complete(
        assessment=draft,
        answers={**MINIMAL_ANSWERS, "med_count": 2, "med_trouble": False,
                 "ph_has_pcp": False},
        actor=cast.lead_care_manager,
    )  # fmt: skip
    assert "ph_pcp_name" not in done.answers
    assert done.answers["med_trouble"] is False
    assert "phq9" not in done.scores  # PHQ-2 was negative


def test_completing_with_required_answers_missing_names_each_and_writes_nothing(cast):
    draft = start(cast)
    before = _rows()
    with pytest.raises(ValidationError) as caught:
        services.assessment_complete(
            assessment=draft,
            answers={"ph_overall": "good"},
            actor=cast.lead_care_manager,
        )
    missing = caught.value.message_dict
    assert "answers.goal_what_matters" in missing
    assert "answers.phq_1" in missing
    assert "answers.ph_overall" not in missing
    assert "answers.phq_3" not in missing  # not shown: PHQ-2 unanswered
    assert _rows() == before


@pytest.mark.parametrize(
    ("answers", "field", "code"),
    [
        ({"no_such_question": 1}, "answers.no_such_question", "unknown_question"),
        ({"ph_overall": "splendid"}, "answers.ph_overall", "invalid_choice"),
        ({"ph_ed_visits": "three"}, "answers.ph_ed_visits", "invalid_type"),
        ({"ph_ed_visits": 500}, "answers.ph_ed_visits", "max_value"),
        ({"ph_has_pcp": "yes"}, "answers.ph_has_pcp", "invalid_type"),
    ],
)
def test_a_bad_answer_is_named_and_nothing_is_written(cast, answers, field, code):
    draft = start(cast)
    services.assessment_save_draft(
        assessment=draft, answers={"ph_overall": "good"}, actor=cast.lead_care_manager
    )
    before = _rows()
    with pytest.raises(ValidationError) as caught:
        services.assessment_save_draft(
            assessment=draft,
            answers={"med_count": 1, **answers},  # the good one is not saved either
            actor=cast.lead_care_manager,
        )
    assert caught.value.error_dict[field][0].code == code
    assert _rows() == before


def test_answers_must_be_an_object(cast):
    with pytest.raises(ValidationError) as caught:
        services.assessment_save_draft(
            assessment=start(cast), answers=["x"], actor=cast.lead_care_manager
        )
    assert "answers" in caught.value.message_dict


def test_a_stale_version_is_refused(cast):
    draft = start(cast)
    services.assessment_save_draft(
        assessment=draft, answers={"ph_overall": "good"}, actor=cast.lead_care_manager
    )
    with pytest.raises(ConflictError) as caught:
        services.assessment_save_draft(
            assessment=draft,
            answers={"ph_overall": "poor"},
            actor=cast.supervisor,
            expected_version=1,
        )
    assert caught.value.code == "stale_version"
    assert Assessment.objects.get(pk=draft.pk).answers == {"ph_overall": "good"}


def test_a_completed_assessment_no_longer_changes(cast):
    done = completed(cast)
    with pytest.raises(ValidationError) as caught:
        services.assessment_save_draft(
            assessment=done,
            answers={"ph_overall": "poor"},
            actor=cast.lead_care_manager,
        )
    assert caught.value.error_dict["status"][0].code == "completed"


def test_one_draft_per_episode(cast):
    start(cast)
    with pytest.raises(ConflictError) as caught:
        start(cast, actor=cast.supervisor)
    assert caught.value.code == "draft_exists"
    assert Assessment.objects.count() == 1


def test_an_episode_not_yet_enrolled_is_not_assessed(cast):
    Episode.objects.filter(pk=cast.episode.pk).update(status="outreach")
    with pytest.raises(ValidationError) as caught:
        start(cast)
    assert caught.value.error_dict["episode"][0].code == "not_enrolled"
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("colleague", Http404),  # does not see the member
        ("other_care_manager", Http404),
        ("other_plan_admin", Http404),
        ("cs_provider", Http404),  # referral data only
        ("plan_admin", PermissionDenied),  # reads only
        ("provider_admin", PermissionDenied),
        ("auditor", PermissionDenied),
    ],
)
def test_only_the_care_team_writes(cast, who, error):
    with pytest.raises(error):
        start(cast, actor=getattr(cast, who))
    draft = start(cast)
    with pytest.raises(error):
        services.assessment_save_draft(
            assessment=draft, answers={"ph_overall": "good"}, actor=getattr(cast, who)
        )
    assert Assessment.objects.get(pk=draft.pk).answers == {}


def test_a_covering_colleague_with_a_grant_writes(cast):
    draft = start(cast)
    with pytest.raises(Http404):
        services.assessment_save_draft(
            assessment=draft, answers={"ph_overall": "good"}, actor=cast.colleague
        )
    now = timezone.now()
    MemberGrant.objects.create(
        user=cast.colleague,
        content_object=cast.member,
        permission_id=_any_permission_id(),
        kind=MemberGrant.Kind.COVERING,
        reason="Covering a leave",
        granted_by=cast.supervisor,
        granted_at=now,
        expires_at=now + timedelta(days=7),
    )
    saved = services.assessment_save_draft(
        assessment=draft, answers={"ph_overall": "good"}, actor=cast.colleague
    )
    assert saved.answers == {"ph_overall": "good"}


def _any_permission_id():
    from django.contrib.auth.models import Permission

    return Permission.objects.get(codename="view_member").pk


def test_the_provider_api_client_writes(cast):
    draft = start(cast, actor=cast.provider_api)
    assert draft.started_by == cast.provider_api


# --- Selectors ----------------------------------------------------------------------


def test_latest_assessment_dates_for_the_rtf(cast):
    assert selectors.latest_assessment_dates(cast.member) == {
        "started": None,
        "completed": None,
    }
    done = completed(cast)
    Assessment.objects.filter(pk=done.pk).update(
        started_at=timezone.now() - timedelta(days=10),
        completed_at=timezone.now() - timedelta(days=3),
    )
    start(cast)
    today = timezone.localdate()
    assert selectors.latest_assessment_dates(cast.member) == {
        "started": today,
        "completed": today - timedelta(days=3),
    }


def test_suggested_needs_come_from_a_completed_assessment(cast):
    draft = start(cast)
    assert selectors.suggested_needs(draft) == []
    draft.delete()
    done = completed(
        cast,
        {"hrsn_living_situation": "no_steady", "hrsn_food_worry": "often_true",
         "su_alcohol_frequency": "four_plus_week", "su_alcohol_typical": "ten_plus",
         "su_alcohol_six_plus": "daily"},
    )  # fmt: skip
    assert selectors.suggested_needs(done) == [
        {
            "domain": "housing",
            "description": "Housing instability or homelessness",
            "question": "hrsn_living_situation",
        },
        {"domain": "food", "description": "Food insecurity",
         "question": "hrsn_food_worry"},
    ]  # fmt: skip
    assert done.scores["alcohol_use"] == {
        "label": "Alcohol use (AUDIT-C structure)",
        "value": 12,
        "max": 12,
        "band": "positive",
        "band_label": "Positive screen",
        "positive": True,
        "part2": True,
    }


# --- Templates ----------------------------------------------------------------------


def _admin(cast):
    return cast.plan_admin


def test_a_published_template_is_frozen_and_edits_make_a_new_version(cast):
    v1 = services.current_template()
    with pytest.raises(ValidationError) as caught:
        services.template_update_draft(
            template=v1, name="Changed", definition=v1.definition, actor=_admin(cast)
        )
    assert caught.value.error_dict["status"][0].code == "immutable"
    # Even a direct UPDATE is refused by the database.
    changed = {**v1.definition, "title": "Changed"}
    with pytest.raises(ProgrammingError), transaction.atomic():
        AssessmentTemplate.objects.filter(pk=v1.pk).update(definition=changed)

    done = completed(cast)
    v2 = services.template_new_version(template=v1, actor=_admin(cast))
    assert (v2.version, v2.status) == (2, "draft")
    definition = v2.definition
    definition["sections"][0]["questions"][0]["text"] = "How is your health today?"
    services.template_update_draft(
        template=v2, name=v2.name, definition=definition, actor=_admin(cast)
    )
    services.template_publish(template=v2, actor=_admin(cast))
    v1.refresh_from_db()
    assert v1.status == "retired"
    assert services.current_template() == v2
    # The completed assessment still reads the questions it was answered with.
    done.refresh_from_db()
    assert done.template == v1
    assert done.template.definition["sections"][0]["questions"][0]["text"] == (
        "In general, how would you describe your health?"
    )


def test_an_invalid_definition_is_refused_with_its_problems(cast):
    with pytest.raises(ValidationError) as caught:
        services.template_create(
            code="bad",
            name="Bad",
            definition={"sections": [{"key": "s", "title": "S", "questions": [
                {"key": "a", "text": "A", "type": "single_choice"}]}]},
            actor=_admin(cast),
        )  # fmt: skip
    assert "a single_choice question needs choices" in str(caught.value)
    assert not AssessmentTemplate.objects.filter(code="bad").exists()


def test_only_plan_administrators_manage_templates(cast):
    with pytest.raises(PermissionDenied):
        services.template_new_version(
            template=services.current_template(), actor=cast.lead_care_manager
        )
