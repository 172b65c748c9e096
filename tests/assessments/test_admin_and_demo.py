"""Templates in the Django admin (data a plan administrator adds, checked the
same way), and the demo assessments."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from care_plans.assessments.models import Assessment, AssessmentTemplate
from care_plans.assessments.services import current_template
from demo import seed_assessments
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SMALL = {
    "sections": [
        {
            "key": "housing",
            "title": "Housing",
            "questions": [
                {"key": "stable", "text": "Stable housing?", "type": "yes_no",
                 "required": True,
                 "need": {"domain": "housing", "description": "Unstable housing",
                          "when": [False]}},
            ],
        }
    ]
}  # fmt: skip


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _add(admin_client, definition):
    return admin_client.post(
        reverse("admin:assessments_assessmenttemplate_add"),
        {"code": "housing-check", "name": "Housing check",
         "definition": json.dumps(definition)},
    )  # fmt: skip


def test_an_administrator_adds_a_template_without_code(admin_client):
    response = _add(admin_client, SMALL)
    assert response.status_code == 302
    template = AssessmentTemplate.objects.get(code="housing-check")
    assert (template.version, template.status) == (1, "draft")

    response = admin_client.post(
        reverse("admin:assessments_assessmenttemplate_changelist"),
        {"action": "publish", "_selected_action": [template.pk]},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.status == "published"


def test_an_invalid_definition_is_refused_in_the_admin(admin_client):
    broken = json.loads(json.dumps(SMALL))
    broken["sections"][0]["questions"][0]["need"]["when"] = ["maybe"]
    response = _add(admin_client, broken)
    assert response.status_code == 200
    assert "need.when of a yes/no question is true or false" in (
        response.content.decode()
    )
    assert not AssessmentTemplate.objects.filter(code="housing-check").exists()


def test_a_published_version_is_read_only_and_copied_into_the_next(admin_client):
    v1 = current_template()
    url = reverse("admin:assessments_assessmenttemplate_change", args=[v1.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="definition"' not in page  # shown, not editable
    response = admin_client.post(url, {"code": v1.code, "name": "Changed",
                                       "definition": json.dumps(SMALL)})  # fmt: skip
    assert response.status_code == 403
    admin_client.post(
        reverse("admin:assessments_assessmenttemplate_changelist"),
        {"action": "new_version", "_selected_action": [v1.pk]},
    )
    v2 = AssessmentTemplate.objects.get(code=v1.code, version=2)
    assert v2.status == "draft"
    assert v2.definition == v1.definition


def test_the_demo_has_a_completed_and_a_draft_assessment(db):
    call_command("seed_demo", "--quiet")
    completed = Assessment.objects.get(member__cin=seed_assessments.COMPLETED_CIN)
    draft = Assessment.objects.get(member__cin=seed_assessments.DRAFT_CIN)
    assert completed.status == "completed"
    assert completed.scores["phq9"]["band"] == "mild"
    assert draft.status == "draft"
    versions = list(Assessment.objects.values_list("pk", "version"))
    call_command("seed_demo", "--quiet")
    assert list(Assessment.objects.values_list("pk", "version")) == versions
