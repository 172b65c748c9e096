"""The ECM provider API's views: a provider's system works its assigned episodes.

It pulls its organization's episodes (the MIF-like member fields and the RTF
projection, read-only), posts outreach attempts in the OTF's terms, takes the
episode's steps as explicit actions (enroll, decline, unable to reach,
discontinue) and records encounters. DESIGN.md §5: state changes are actions,
never edits of a status field; an action carries the version the caller read (in
the body or an If-Match header) and a stale one gets 409 `stale_version`.

Each write view fetches the episode through `selectors.episode_visible_to` (404
for an episode that is missing or not the caller's) and calls one service, which
holds every rule. The services' errors reach the client through the API's one
exception handler; `EpisodeWrite.service_fields` only renames the services'
field names (`attempted_at`) to this API's (`outreach_date`) on the way.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from calaim.api.filters import UpdatedSinceFilter
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.services import audit_record
from care_plans import selectors, services
from care_plans.api.schema import (
    ACTION_RESPONSES,
    DISCONTINUED_EXAMPLE,
    ENCOUNTER_EXAMPLE,
    ENCOUNTER_REQUEST_EXAMPLE,
    EPISODE_EXAMPLE,
    IF_MATCH,
    INVALID_OUTREACH_EXAMPLE,
    NOT_FOUND,
    OUTREACH_EXAMPLE,
    OUTREACH_REQUEST_EXAMPLE,
    STALE_EXAMPLE,
    TAG,
    request_example,
    response_example,
)
from care_plans.api.serializers import (
    DeclineInput,
    DiscontinueInput,
    EncounterInput,
    EncounterOutput,
    EnrollInput,
    EpisodeOutput,
    ErrorsOutput,
    OutreachInput,
    OutreachOutput,
    VersionedInput,
)
from care_plans.models import Encounter, EpisodeStatus

READ = RequiresScope("members:read", permissions=["care_plans.view_episode"])
RECORD_OUTREACH = RequiresScope(
    "ecm:write", permissions=["care_plans.add_outreachattempt"]
)
ENROLL = RequiresScope("ecm:write", permissions=["care_plans.enroll_episode"])
DISCONTINUE = RequiresScope("ecm:write", permissions=["care_plans.discontinue_episode"])
RECORD_ENCOUNTER = RequiresScope("ecm:write", permissions=["care_plans.add_encounter"])


# --- Helpers ------------------------------------------------------------------------


def _parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _invalid(field: str, message: str, code: str):
    return exceptions.ValidationError(
        {field: [exceptions.ErrorDetail(message, code=code)]}
    )


def expected_version(request, data: dict) -> int:
    """The version the caller read: `version` in the body or an If-Match header
    (`"4"`, `W/"4"` or `4`). One of them is required (DESIGN.md §5)."""
    header = request.headers.get("If-Match", "").strip()
    from_header = None
    if header:
        tag = header.removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise _invalid(
                "If-Match", 'Give the episode\'s version, e.g. "4".', "invalid"
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


def _episode_response(episode, *, status=200) -> Response:
    """The episode as the API shows it, re-read with its RTF fields, with an ETag
    a client can send back as If-Match."""
    episode = selectors.episode_with_rtf_fields(episode)
    response = Response(EpisodeOutput(episode).data, status=status)
    response["ETag"] = f'"{episode.version}"'
    return response


class EpisodeStatusFilter(BaseFilterBackend):
    """`?status=` keeps episodes in one of the given statuses (ours; repeat the
    parameter or separate with commas)."""

    def filter_queryset(self, request, queryset, view):
        wanted = {
            value.strip()
            for raw in request.query_params.getlist("status")
            for value in raw.split(",")
            if value.strip()
        }
        if not wanted:
            return queryset
        unknown = wanted - set(EpisodeStatus.values)
        if unknown:
            raise _invalid(
                "status", f"Unknown status {', '.join(sorted(unknown))}.", "invalid"
            )
        return queryset.filter(status__in=wanted)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "status",
                "in": "query",
                "required": False,
                "description": "Only episodes in these statuses (ours); repeat the "
                "parameter or separate values with commas.",
                "schema": {"type": "string", "enum": list(EpisodeStatus.values)},
            }
        ]


class EpisodeWrite(APIView):
    """Base for the write endpoints: the service's field names in validation
    errors become this API's, per `service_fields`, so the error points at the
    field the client sent. This renames; it does not catch or shape errors (the
    API's exception handler does that)."""

    service_fields: dict[str, str] = {}

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
            exc = DjangoValidationError(
                {
                    self.service_fields.get(field, field): errors
                    for field, errors in exc.error_dict.items()
                }
            )
        return super().handle_exception(exc)


# --- Reads --------------------------------------------------------------------------


class EpisodeList(ListAPIView):
    """The caller's episodes: for a provider's system its organization's open
    episodes; for a person, the episodes of the members they may see (a plan's
    staff: the plan's, open or closed). Audited with the member ids of the page."""

    permission_classes = [READ]
    serializer_class = EpisodeOutput
    pagination_class = CursorPagination
    filter_backends = [EpisodeStatusFilter, UpdatedSinceFilter]
    updated_since_field = "changed_at"

    def get_queryset(self):
        return selectors.episodes_visible_to(self.request.user)

    @extend_schema(
        tags=TAG,
        summary="ECM episodes assigned to the caller",
        description="Each episode with the member's MIF-like fields and the RTF "
        "projection under DHCS field names (DESIGN.md §5). Sync with "
        "`updated_since`; page with the cursor in `next`.",
        examples=[response_example(200, {"next": None, "previous": None,
                                  "results": [EPISODE_EXAMPLE]})],
    )  # fmt: skip
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        audit_record(
            action="view",
            object_type="ecm_episode_list",
            member_ids=[episode.member_id for episode in page or []],
            actor=self.request.user,
        )
        return page


class EpisodeDetail(APIView):
    """One episode by id; 404 when missing or not the caller's."""

    permission_classes = [READ]

    @extend_schema(
        tags=TAG,
        summary="One ECM episode",
        responses={200: EpisodeOutput, 404: NOT_FOUND},
        examples=[
            response_example(200, EPISODE_EXAMPLE, name="Enrolled"),
            response_example(200, DISCONTINUED_EXAMPLE, name="Discontinued"),
        ],
    )
    def get(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        audit_record(
            action="view",
            object_type="ecm_episode",
            object_id=str(episode.uuid),
            member_ids=[episode.member_id],
            actor=request.user,
        )
        response = Response(EpisodeOutput(episode).data)
        response["ETag"] = f'"{episode.version}"'
        return response


# --- Outreach -----------------------------------------------------------------------


class EpisodeOutreach(EpisodeWrite):
    """Record an outreach attempt (the OTF's fields) for an assigned episode."""

    permission_classes = [RECORD_OUTREACH]
    service_fields = {
        "attempted_at": "outreach_date",
        "method": "outreach_method",
        "minutes": "outreach_minutes",
    }

    @extend_schema(
        tags=TAG,
        summary="Record an outreach attempt",
        description="OTF fields in snake_case. outreach_method is one of ours "
        "(in_person, phone, text, email, mail, video); the answer adds the OTF "
        "bucket. The first attempt moves an assigned episode into outreach and "
        "raises its version.",
        request=OutreachInput,
        responses={
            201: OutreachOutput,
            400: OpenApiResponse(ErrorsOutput, description="Invalid attempt."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope or role."),
            404: NOT_FOUND,
        },
        examples=[
            request_example(OUTREACH_REQUEST_EXAMPLE),
            response_example(201, OUTREACH_EXAMPLE),
            response_example(400, INVALID_OUTREACH_EXAMPLE, name="A future date"),
        ],
    )
    def post(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        data = _parse(OutreachInput, request)
        attempt = services.outreach_record(
            episode=episode,
            attempted_at=data["outreach_date"],
            method=data["outreach_method"],
            outcome=data["outcome"],
            minutes=data["outreach_minutes"],
            note=data["note"],
            actor=request.user,
        )
        return Response(OutreachOutput(attempt).data, status=201)


# --- Episode actions ----------------------------------------------------------------


def _action_schema(summary, description, request, body):
    return extend_schema(
        tags=TAG,
        summary=summary,
        description=description,
        request=request,
        parameters=[IF_MATCH],
        responses=ACTION_RESPONSES,
        examples=[
            request_example(body),
            response_example(200, EPISODE_EXAMPLE, name="The updated episode"),
            response_example(409, STALE_EXAMPLE, name="A stale version"),
        ],
    )


class EpisodeEnroll(EpisodeWrite):
    """The member consented to ECM."""

    permission_classes = [ENROLL]
    service_fields = {"consented_on": "consent_date"}

    @_action_schema(
        "Enroll the member (consent to ECM)",
        "For an assigned episode or one in outreach.",
        EnrollInput,
        {"version": 3, "consent_date": "2026-01-15", "consent_method": "verbal"},
    )
    def post(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        data = _parse(EnrollInput, request)
        episode = services.episode_enroll(
            episode=episode,
            consented_on=data["consent_date"],
            consent_method=data["consent_method"],
            expected_version=expected_version(request, data),
            actor=request.user,
        )
        return _episode_response(episode)


class EpisodeDecline(EpisodeWrite):
    """The member declined ECM during outreach; the episode closes."""

    permission_classes = [ENROLL]

    @_action_schema(
        "Record that the member declined ECM",
        "For an assigned episode or one in outreach. Closes the episode.",
        DeclineInput,
        {"version": 3, "reason": "Prefers to work with their own clinic."},
    )
    def post(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        data = _parse(DeclineInput, request)
        episode = services.episode_decline(
            episode=episode,
            reason=data["reason"],
            expected_version=expected_version(request, data),
            actor=request.user,
        )
        return _episode_response(episode)


class EpisodeUnableToReach(EpisodeWrite):
    """Close an episode whose outreach met the rule without reaching the member."""

    permission_classes = [ENROLL]

    @_action_schema(
        "Close the episode as unable to reach",
        "Only once the outreach rule is met (at least 3 attempts, 2 or more "
        "methods, over 30 days); otherwise 400 with code `outreach_rule`.",
        VersionedInput,
        {"version": 6},
    )
    def post(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        data = _parse(VersionedInput, request)
        episode = services.episode_unable_to_reach(
            episode=episode,
            expected_version=expected_version(request, data),
            actor=request.user,
        )
        return _episode_response(episode)


class EpisodeDiscontinue(EpisodeWrite):
    """Discontinue ECM with a coded reason."""

    permission_classes = [DISCONTINUE]
    service_fields = {"reason": "discontinuation_reason", "on": "discontinuation_date"}

    @_action_schema(
        "Discontinue ECM",
        "With one of our reasons; the answer carries the DHCS code. The "
        "episode closes, so it leaves the provider's list.",
        DiscontinueInput,
        {
            "version": 4,
            "discontinuation_reason": "goals_met",
            "note": "All goals of the care plan met.",
            "discontinuation_date": "2026-06-30",
        },
    )
    def post(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        data = _parse(DiscontinueInput, request)
        episode = services.episode_discontinue(
            episode=episode,
            reason=data["discontinuation_reason"],
            note=data["note"],
            on=data.get("discontinuation_date"),
            expected_version=expected_version(request, data),
            actor=request.user,
        )
        return _episode_response(episode)


# --- Encounters ---------------------------------------------------------------------


class EpisodeEncounters(EpisodeWrite, GenericAPIView):
    """An enrolled episode's encounters: list them, or record one."""

    queryset = Encounter.objects.none()  # for the schema; rows come from a selector
    serializer_class = EncounterOutput
    pagination_class = CursorPagination
    service_fields = {"occurred_on": "encounter_date"}

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [READ]
        return [RECORD_ENCOUNTER]

    @extend_schema(
        tags=TAG,
        summary="The episode's encounters",
        responses={200: EncounterOutput(many=True), 404: NOT_FOUND},
        examples=[response_example(200, {"next": None, "previous": None,
                                  "results": [ENCOUNTER_EXAMPLE]})],
    )  # fmt: skip
    def get(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        audit_record(
            action="view",
            object_type="ecm_encounter_list",
            object_id=str(episode.uuid),
            member_ids=[episode.member_id],
            actor=request.user,
        )
        page = self.paginate_queryset(selectors.encounters_of(episode))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Record an encounter",
        description="For an enrolled or active episode. Without hcpcs_code the "
        "code follows from mode and clinical (G9008-U1 clinical, G9012-U2 "
        "otherwise, GQ when not in person).",
        request=EncounterInput,
        responses={
            201: EncounterOutput,
            400: OpenApiResponse(ErrorsOutput, description="Invalid encounter."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope or role."),
            404: NOT_FOUND,
        },
        examples=[
            request_example(ENCOUNTER_REQUEST_EXAMPLE),
            response_example(201, ENCOUNTER_EXAMPLE),
        ],
    )
    def post(self, request, episode_id):
        episode = selectors.episode_visible_to(request.user, episode_id)
        data = _parse(EncounterInput, request)
        encounter = services.encounter_record(
            episode=episode,
            occurred_on=data["encounter_date"],
            mode=data["mode"],
            minutes=data["minutes"],
            clinical=data["clinical"],
            hcpcs_code=data.get("hcpcs_code"),
            modifiers=data.get("modifiers"),
            note=data["note"],
            actor=request.user,
        )
        return Response(EncounterOutput(encounter).data, status=201)
