"""The one place an assessment is fetched for a user."""

from django.core.exceptions import ValidationError
from django.http import Http404

from calaim import access as registry
from calaim.audit.services import audit_record
from care_plans.assessments.models import Assessment


def access_assessment(user, assessment_uuid, *, audit=True) -> Assessment:
    """Fetch an assessment for `user`, or raise Http404 whether missing or not
    allowed (sight of an assessment is sight of its member's chart).

    With its member, template and episode in one query, then the access check
    asked per rule for this one member (registry.member_is_visible).
    Role checks (403) come after, in the caller. Records a view unless
    `audit` is False (a caller that records a more specific action).
    """
    try:
        assessment = Assessment.objects.select_related(
            "member", "template", "episode", "started_by", "completed_by"
        ).get(uuid=assessment_uuid)
    except (Assessment.DoesNotExist, ValidationError, ValueError, TypeError) as gone:
        raise Http404("No such assessment.") from gone
    if not registry.member_is_visible(user, assessment.member_id):
        raise Http404("No such assessment.")
    if audit:
        audit_record(
            action="view",
            object_type="assessment",
            object_id=str(assessment.uuid),
            member_ids=[assessment.member_id],
            actor=user,
        )
    return assessment
