"""The assessments API: a provider's system starts, fills and completes a
member's comprehensive assessment, and reads the templates to know the questions.

- GET/POST /api/v1/members/{id}/assessments — the member's assessments / start one
- GET/PATCH /api/v1/assessments/{id} — one assessment / save draft answers
- POST /api/v1/assessments/{id}/complete — complete it
- GET /api/v1/assessment-templates — the published templates with their questions

Writes carry the version the caller read (`version` in the body or If-Match); a
stale one gets 409 `stale_version`. Answers are checked against the assessment's
own template version; a bad one is a 400 naming `answers.<key>`. Part 2 answers
(and scores made from them) are withheld from a caller members.part2 does not
let see them (`part2_withheld: true`, audited); a response that carries them has
the redisclosure notice in a top-level `part2_notice`.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from calaim.api.filters import UpdatedSinceFilter
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.services import audit_record
from care_plans.api.serializers import ErrorsOutput
from care_plans.assessments import selectors, services
from care_plans.assessments.access import access_assessment
from care_plans.assessments.models import Assessment, AssessmentTemplate
from members import part2
from members.access import access_member

TAG = ["Assessments"]
READ = RequiresScope("members:read", permissions=["assessments.view_assessment"])
READ_TEMPLATES = RequiresScope(
    "members:read", permissions=["assessments.view_assessmenttemplate"]
)
START = RequiresScope("ecm:write", permissions=["assessments.add_assessment"])
SAVE = RequiresScope("ecm:write", permissions=["assessments.change_assessment"])
COMPLETE = RequiresScope("ecm:write", permissions=["assessments.complete_assessment"])


# --- Serializers --------------------------------------------------------------------


class TemplateRef(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()


class AssessmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    member_id = serializers.UUIDField()
    episode_id = serializers.UUIDField()
    template = TemplateRef()
    status = serializers.ChoiceField(choices=Assessment.Status.choices)
    version = serializers.IntegerField(
        help_text="Send it back (or as If-Match) with a write to this assessment."
    )
    answers = serializers.DictField(
        help_text="By question key: a choice value, a list of them, true/false, "
        "a number, a date (YYYY-MM-DD) or text."
    )
    scores = serializers.DictField(
        help_text="By score key: label, value, max, band, band_label, positive, "
        "part2. Computed on completion."
    )
    part2_withheld = serializers.BooleanField(
        help_text="Part 2 answers and scores were left out for this caller."
    )
    assessment_started_date = serializers.DateField(help_text="RTF 23")
    completed_date = serializers.DateField(
        allow_null=True,
        help_text="Of the latest completed assessment: RTF 22 "
        "(most_recent_completed_assessment_date).",
    )
    started_at = serializers.DateTimeField()
    started_by = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)
    completed_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


class TemplateOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    published_at = serializers.DateTimeField()
    definition = serializers.JSONField(
        help_text="Sections, questions (key, text, type, required, choices, "
        "min/max, show_if, part2) and scores."
    )


class StartInput(serializers.Serializer):
    template_id = serializers.UUIDField(
        required=False,
        help_text="A published template; the ECM comprehensive assessment when "
        "left out.",
    )


class AnswersInput(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you last read; required unless If-Match carries it.",
    )
    answers = serializers.DictField(
        required=False,
        allow_empty=True,
        help_text="By question key; null clears an answer. Others stay as saved.",
    )


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description='The assessment\'s version as an entity tag, e.g. "3"; instead '
    "of `version` in the body.",
)
NOT_FOUND = OpenApiResponse(ErrorsOutput, description="No such record for you.")
EXAMPLE = {
    "id": "5d1b7c3e-2a4f-4e6b-9c8d-7e6f5a4b3c2d",
    "member_id": "8b5d1c2e-7f4a-4e11-9c3d-2a6b7c8d9e0f",
    "episode_id": "3f0c9a56-1d2b-4c8e-9a57-0b1f2e3d4c5a",
    "template": {
        "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "code": "ecm-comprehensive",
        "name": "ECM comprehensive assessment",
        "version": 1,
    },
    "status": "completed",
    "version": 4,
    "answers": {"phq_1": "several_days", "phq_2": "not_at_all",
                "hrsn_transportation": True, "med_count": 3},
    "scores": {"phq2": {"label": "PHQ-2", "value": 1, "max": 6,
                        "band": "negative", "band_label": "Negative screen",
                        "positive": False, "part2": False}},
    "part2_withheld": True,
    "assessment_started_date": "2026-02-03",
    "completed_date": "2026-02-10",
    "started_at": "2026-02-03T17:05:12.481Z",
    "started_by": "Jordan Example",
    "completed_at": "2026-02-10T18:00:00Z",
    "completed_by": "Jordan Example",
    "updated_at": "2026-02-10T18:00:00Z",
}  # fmt: skip
STALE = {
    "errors": [
        {
            "field": None,
            "code": "stale_version",
            "message": "This assessment changed since you loaded it (version 3, "
            "now 4); reload and try again.",
        }
    ]
}
INVALID = {
    "errors": [
        {
            "field": "answers.phq_1",
            "code": "invalid_choice",
            "message": "Little interest or pleasure in doing things: 'often' is "
            "not one of the choices (not_at_all, several_days, more_than_half, "
            "nearly_every_day).",
        }
    ]
}


def _example(status, body, name="Example"):
    return OpenApiExample(name, value=body, response_only=True, status_codes=[status])


# --- Helpers ------------------------------------------------------------------------


def _local_date(moment):
    return timezone.localdate(moment) if moment is not None else None


def _output(assessment: Assessment, presented: selectors.Presented) -> dict:
    template = assessment.template
    return AssessmentOutput(
        {
            "id": assessment.uuid,
            "member_id": assessment.member.uuid,
            "episode_id": assessment.episode.uuid,
            "template": {
                "id": template.uuid,
                "code": template.code,
                "name": template.name,
                "version": template.version,
            },
            "status": assessment.status,
            "version": assessment.version,
            "answers": presented.answers,
            "scores": presented.scores,
            "part2_withheld": presented.part2_withheld,
            "assessment_started_date": _local_date(assessment.started_at),
            "completed_date": _local_date(assessment.completed_at),
            "started_at": assessment.started_at,
            "started_by": assessment.started_by.full_name,
            "completed_at": assessment.completed_at,
            "completed_by": assessment.completed_by.full_name
            if assessment.completed_by
            else None,
            "updated_at": assessment.updated_at,
        }
    ).data


def _with_notice(body: dict, disclosed: bool) -> dict:
    if disclosed:
        body["part2_notice"] = part2.REDISCLOSURE_NOTICE
    return body


def _respond(request, assessment, *, status=200) -> Response:
    """One assessment as `request.user` may see it, with its ETag."""
    presented = selectors.present(assessment, request.user)
    body = _with_notice(_output(assessment, presented), presented.part2_disclosed)
    response = Response(body, status=status)
    response["ETag"] = f'"{assessment.version}"'
    return response


def _invalid(field, message, code):
    return exceptions.ValidationError(
        {field: [exceptions.ErrorDetail(message, code=code)]}
    )


def expected_version(request, data: dict) -> int:
    """The version the caller read: `version` in the body or If-Match (one is
    required, and they must agree)."""
    header = request.headers.get("If-Match", "").strip()
    from_header = None
    if header:
        tag = header.removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise _invalid(
                "If-Match", 'Give the assessment\'s version, e.g. "3".', "invalid"
            )
        from_header = int(tag)
    from_body = data.get("version")
    if None not in (from_header, from_body) and from_header != from_body:
        raise _invalid(
            "version", "The version and the If-Match header disagree.", "mismatch"
        )
    version = from_body if from_body is not None else from_header
    if version is None:
        raise _invalid(
            "version",
            "Send the version you last read (in the body or an If-Match header).",
            "required",
        )
    return version


def _parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _full(assessment: Assessment) -> Assessment:
    """Re-read after a write with what the output needs."""
    return Assessment.objects.select_related(
        "member", "template", "episode", "started_by", "completed_by"
    ).get(pk=assessment.pk)


# --- Views --------------------------------------------------------------------------


class NewestFirst(CursorPagination):
    ordering = ("-started_at", "-uuid")


class MemberAssessments(GenericAPIView):
    """A member's assessments (newest first), or start one."""

    queryset = Assessment.objects.none()  # for the schema; rows come from below
    serializer_class = AssessmentOutput
    pagination_class = NewestFirst
    filter_backends = [UpdatedSinceFilter]

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [READ]
        return [START]

    @extend_schema(
        tags=TAG,
        summary="A member's assessments",
        description="Part 2 answers are withheld unless a consent (or the "
        "treating relationship) covers the caller; when any are included the "
        "page carries `part2_notice`.",
        responses={200: AssessmentOutput(many=True), 404: NOT_FOUND},
        examples=[_example(200, {"next": None, "previous": None,
                                 "results": [EXAMPLE]})],
    )  # fmt: skip
    def get(self, request, member_id):
        member = access_member(request.user, member_id, audit=False)
        rows = self.filter_queryset(
            Assessment.objects.filter(member=member).select_related(
                "member", "template", "episode", "started_by", "completed_by"
            )
        )
        page = self.paginate_queryset(rows)
        cache: dict = {}
        results, disclosed = [], False
        for assessment in page:
            presented = selectors.present(
                assessment, request.user, member=member, cache=cache
            )
            disclosed = disclosed or presented.part2_disclosed
            results.append(_output(assessment, presented))
        audit_record(
            action="view",
            object_type="assessment_list",
            object_id=str(member.uuid),
            member_ids=[member.pk],
            actor=request.user,
        )
        response = self.get_paginated_response(results)
        _with_notice(response.data, disclosed)
        return response

    @extend_schema(
        tags=TAG,
        summary="Start an assessment",
        description="In the member's open ECM episode (enrolled or active). One "
        "draft per episode: a second start is 409 `draft_exists`.",
        request=StartInput,
        responses={
            201: AssessmentOutput,
            400: OpenApiResponse(ErrorsOutput, description="Invalid input or step."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope, role or "
                                 "care-team membership."),
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorsOutput, description="A draft exists."),
        },
    )  # fmt: skip
    def post(self, request, member_id):
        member = access_member(request.user, member_id, audit=False)
        data = _parse(StartInput, request)
        template = None
        if "template_id" in data:
            template = AssessmentTemplate.objects.filter(
                uuid=data["template_id"]
            ).first()
            if template is None:
                raise _invalid("template_id", "No such template.", "not_found")
        assessment = services.assessment_start(
            member=member, actor=request.user, template=template
        )
        return _respond(request, _full(assessment), status=201)


class AssessmentDetail(GenericAPIView):
    """One assessment; PATCH saves draft answers."""

    queryset = Assessment.objects.none()
    serializer_class = AssessmentOutput

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [READ]
        return [SAVE]

    @extend_schema(
        tags=TAG,
        summary="One assessment",
        responses={200: AssessmentOutput, 404: NOT_FOUND},
        examples=[_example(200, EXAMPLE)],
    )
    def get(self, request, assessment_id):
        assessment = access_assessment(request.user, assessment_id)
        return _respond(request, assessment)

    @extend_schema(
        tags=TAG,
        summary="Save draft answers",
        description="The given answers replace those saved (null clears one); "
        "the others stay. Each is checked against the assessment's template "
        "version.",
        request=AnswersInput,
        parameters=[IF_MATCH],
        responses={
            200: AssessmentOutput,
            400: OpenApiResponse(ErrorsOutput, description="An answer that does "
                                 "not fit the template, or a completed assessment."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope, role or "
                                 "care-team membership."),
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorsOutput, description="Stale version."),
        },
        examples=[
            OpenApiExample("Request", value={"version": 3, "answers": {
                "phq_1": "several_days", "ph_conditions_other": None}},
                request_only=True),
            _example(400, INVALID, name="An answer outside the choices"),
            _example(409, STALE, name="A stale version"),
        ],
    )  # fmt: skip
    def patch(self, request, assessment_id):
        assessment = access_assessment(request.user, assessment_id, audit=False)
        data = _parse(AnswersInput, request)
        version = expected_version(request, data)
        saved = services.assessment_save_draft(
            assessment=assessment,
            answers=data.get("answers", {}),
            actor=request.user,
            expected_version=version,
        )
        return _respond(request, _full(saved))


class AssessmentComplete(GenericAPIView):
    """Complete a draft assessment."""

    queryset = Assessment.objects.none()
    serializer_class = AssessmentOutput
    permission_classes = [COMPLETE]

    @extend_schema(
        tags=TAG,
        summary="Complete an assessment",
        description="Saves the given answers, then requires an answer to every "
        "required question that is shown (400 `required` per missing one, "
        "nothing written); answers to hidden questions are dropped and the "
        "scores computed.",
        request=AnswersInput,
        parameters=[IF_MATCH],
        responses={
            200: AssessmentOutput,
            400: OpenApiResponse(ErrorsOutput, description="Missing or invalid "
                                 "answers."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope, role or "
                                 "care-team membership."),
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorsOutput, description="Stale version."),
        },
        examples=[_example(200, EXAMPLE), _example(409, STALE, name="Stale")],
    )  # fmt: skip
    def post(self, request, assessment_id):
        assessment = access_assessment(request.user, assessment_id, audit=False)
        data = _parse(AnswersInput, request)
        version = expected_version(request, data)
        done = services.assessment_complete(
            assessment=assessment,
            answers=data.get("answers"),
            actor=request.user,
            expected_version=version,
        )
        return _respond(request, _full(done))


class AssessmentTemplates(GenericAPIView):
    """The published assessment templates with their definitions."""

    serializer_class = TemplateOutput
    permission_classes = [READ_TEMPLATES]
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.published_templates()

    @extend_schema(
        tags=TAG,
        summary="Published assessment templates",
        responses={200: TemplateOutput(many=True)},
        parameters=[
            OpenApiParameter("code", OpenApiTypes.STR, description="One template.")
        ],
    )
    def get(self, request):
        rows = self.get_queryset()
        code = request.query_params.get("code")
        if code:
            rows = rows.filter(code=code)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(TemplateOutput(page, many=True).data)
