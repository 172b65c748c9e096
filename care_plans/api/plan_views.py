"""The care plan, care team and care conference API (OAuth2; DESIGN.md §5).

A provider's system reads an episode's care plan (the current version, and the
list of versions), creates a draft, replaces its content (PUT) or changes some
goals and interventions (PATCH), records the member's agreement and starts a
revision -- every write with the plan's `version` (or If-Match): a stale one is
409 `stale_version`. Goals marked Part 2 are withheld from callers outside the
member's treating care team that no consent covers; the withholding is audited,
and an answer that discloses Part 2 goals carries `part2_notice`.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from calaim.accounts.models import User
from calaim.api.pagination import CursorPagination
from calaim.api.permissions import RequiresScope
from calaim.audit.services import audit_record
from care_plans import care_plan_selectors as plan_reads
from care_plans.api.plan_serializers import (
    AgreeInput,
    CareConferenceInput,
    CareConferenceOutput,
    CarePlanCreateInput,
    CarePlanOutput,
    CarePlanPatchInput,
    CarePlanPutInput,
    CarePlanVersionOutput,
    CareTeamInput,
    CareTeamMemberOutput,
    VersionInput,
)
from care_plans.api.schema import IF_MATCH, request_example, response_example
from care_plans.api.serializers import ErrorsOutput
from care_plans.api.views import expected_version
from care_plans.models import CarePlan, CareTeamMember
from care_plans.services import (
    care_conference_record,
    care_plan_agree,
    care_plan_revise,
    care_plan_start,
    care_team_add,
    care_team_remove,
)
from care_plans.services.care_plans import care_plan_patch, care_plan_replace
from members.part2 import REDISCLOSURE_NOTICE, part2_disclosure_allowed, part2_withheld

TAG = ["Care plans and care team"]
READ = RequiresScope("members:read", permissions=["care_plans.view_careplan"])
CREATE = RequiresScope("ecm:write", permissions=["care_plans.add_careplan"])
WRITE = RequiresScope("ecm:write", permissions=["care_plans.change_careplan"])
TEAM_READ = RequiresScope(
    "members:read", permissions=["care_plans.view_careteammember"]
)
TEAM_ADD = RequiresScope("ecm:write", permissions=["care_plans.add_careteammember"])
TEAM_REMOVE = RequiresScope(
    "ecm:write", permissions=["care_plans.delete_careteammember"]
)
CONFERENCE_READ = RequiresScope(
    "members:read", permissions=["care_plans.view_careconference"]
)
CONFERENCE_ADD = RequiresScope(
    "ecm:write", permissions=["care_plans.add_careconference"]
)

NOT_FOUND = OpenApiResponse(ErrorsOutput, description="Missing, or not yours.")
WRITE_RESPONSES = {
    200: CarePlanOutput,
    400: OpenApiResponse(ErrorsOutput, description="Invalid input."),
    403: OpenApiResponse(ErrorsOutput, description="Missing scope or role."),
    404: NOT_FOUND,
    409: OpenApiResponse(ErrorsOutput, description="Stale version (`stale_version`)."),
}
PLAN_EXAMPLE = {
    "id": "5c2b8f0a-0d4e-4e52-9a8e-6f1d2c3b4a59",
    "episode_id": "3f0c9a56-1d2b-4c8e-9a57-0b1f2e3d4c5a",
    "member_id": "8b5d1c2e-7f4a-4e11-9c3d-2a6b7c8d9e0f",
    "number": 1,
    "status": "agreed",
    "version": 6,
    "language": "SPA",
    "member_agreed_on": "2026-02-10",
    "agreed_by": "Jordan Example",
    "latest_care_plan_revision_date": "2026-02-10",
    "created_at": "2026-02-03T17:05:12.481Z",
    "updated_at": "2026-02-10T18:00:00Z",
    "needs": [
        {
            "uid": "b1e2c3d4-0000-4000-8000-000000000001",
            "domain": "housing",
            "description": "Sleeping in a car since March",
            "source": "suggested",
            "question": "housing_situation",
            "goals": [
                {
                    "uid": "b1e2c3d4-0000-4000-8000-000000000002",
                    "description": "I want a place with a door that locks",
                    "target_date": "2026-08-01",
                    "status": "in_progress",
                    "part2": False,
                    "interventions": [
                        {
                            "uid": "b1e2c3d4-0000-4000-8000-000000000003",
                            "description": "Refer to housing navigation",
                            "responsible": "staff",
                            "responsible_user_email": "jordan@harbor.example",
                            "responsible_name": "Jordan Example",
                            "responsible_contact_id": None,
                            "due_date": "2026-02-20",
                            "status": "done",
                        }
                    ],
                }
            ],
        }
    ],
    "part2_withheld": 0,
    "part2_notice": None,
}
STALE_PLAN_EXAMPLE = {
    "errors": [
        {
            "field": None,
            "code": "stale_version",
            "message": "This care plan changed since you loaded it (version 5, now "
            "6); your change was not saved.",
        }
    ]
}


# --- Helpers --------------------------------------------------------------------------


def plan_row(content, *, episode_uuid, member_uuid) -> dict:
    """One plan version as the API shows it (no query: `content` is read)."""
    plan = content.care_plan
    agreed = plan.status in (CarePlan.Status.AGREED, CarePlan.Status.SUPERSEDED)
    return {
        "id": plan.uuid,
        "episode_id": episode_uuid,
        "member_id": member_uuid,
        "number": plan.number,
        "status": plan.status,
        "version": plan.lock_version,
        "language": plan.language,
        "member_agreed_on": plan.member_agreed_on,
        "agreed_by": plan.agreed_by.full_name if plan.agreed_by_id else None,
        "latest_care_plan_revision_date": plan.member_agreed_on if agreed else None,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "needs": [
            {
                "uid": need.uid,
                "domain": need.domain,
                "description": need.description,
                "source": need.source,
                "question": need.question,
                "goals": [
                    {
                        "uid": goal.uid,
                        "description": goal.description,
                        "target_date": goal.target_date,
                        "status": goal.status,
                        "part2": goal.part2,
                        "interventions": [
                            {
                                "uid": item.uid,
                                "description": item.description,
                                "responsible": item.responsible,
                                "responsible_user_email": (
                                    item.responsible_user.email
                                    if item.responsible_user_id
                                    else None
                                ),
                                "responsible_name": item.responsible_label,
                                "responsible_contact_id": (
                                    item.responsible_contact.uuid
                                    if item.responsible_contact_id
                                    else None
                                ),
                                "due_date": item.due_date,
                                "status": item.status,
                            }
                            for item in goal.intervention_list
                        ],
                    }
                    for goal in need.goal_list
                ],
            }
            for need in content.needs
        ],
        "part2_withheld": content.withheld,
        "part2_notice": REDISCLOSURE_NOTICE if content.shows_part2 else None,
    }


def _part2_allowed(request, member) -> bool:
    cache = request.__dict__.setdefault("_part2_allowed", {})
    if member.pk not in cache:
        cache[member.pk] = part2_disclosure_allowed(request.user, member)
    return cache[member.pk]


def _plan_response(request, care_plan, *, status=200, audit=True) -> Response:
    care_plan = CarePlan.objects.select_related("episode", "member", "agreed_by").get(
        pk=care_plan.pk
    )
    member = care_plan.member
    content = plan_reads.plan_content(
        care_plan, part2_allowed=_part2_allowed(request, member)
    )
    if content.withheld:
        part2_withheld(user=request.user, member=member, what="care_plan_goals")
    if audit:
        audit_record(
            action="view",
            object_type="care_plan",
            object_id=str(care_plan.uuid),
            member_ids=[member.pk],
            actor=request.user,
        )
    body = plan_row(
        content, episode_uuid=care_plan.episode.uuid, member_uuid=member.uuid
    )
    response = Response(CarePlanOutput(body).data, status=status)
    response["ETag"] = f'"{care_plan.lock_version}"'
    return response


def _parse(serializer_class, request, *, partial=False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _staff_user(email, episode, field):
    if not email:
        return None
    user = User.objects.filter(
        email__iexact=email, organization_id=episode.ecm_provider_id
    ).first()
    if user is None:
        raise exceptions.ValidationError(
            {
                field: [
                    exceptions.ErrorDetail(
                        "No colleague of the ECM provider has that e-mail.",
                        code="invalid_staff",
                    )
                ]
            }
        )
    return user


def _needs_for_service(needs, episode) -> list[dict]:
    """The API's nested needs as the service takes them (colleagues by e-mail
    become users; contacts stay uuids)."""
    result = []
    for n_index, need in enumerate(needs):
        need = dict(need)
        goals = []
        for g_index, goal in enumerate(need.pop("goals", []) or []):
            goal = dict(goal)
            items = []
            for i_index, item in enumerate(goal.pop("interventions", []) or []):
                item = dict(item)
                at = f"needs.{n_index}.goals.{g_index}.interventions.{i_index}"
                item["responsible_user"] = _staff_user(
                    item.pop("responsible_user_email", None),
                    episode,
                    f"{at}.responsible_user_email",
                )
                item["responsible_contact"] = item.pop("responsible_contact_id", None)
                items.append(item)
            goal["interventions"] = items
            goals.append(goal)
        need["goals"] = goals
        result.append(need)
    return result


class _PlanWrite(APIView):
    """A write to one plan version: the plan through its episode (404 unless
    the caller sees it)."""

    def plan(self, request, care_plan_id):
        return plan_reads.care_plan_for_api(request.user, care_plan_id)


# --- Plans ----------------------------------------------------------------------------


class EpisodeCarePlan(APIView):
    """The episode's current care plan (the draft being worked on, else the
    agreed version); POST starts the first one as a draft."""

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [READ]
        return [CREATE]

    @extend_schema(
        tags=TAG,
        summary="The episode's current care plan",
        responses={200: CarePlanOutput, 404: NOT_FOUND},
        examples=[response_example(200, PLAN_EXAMPLE)],
    )
    def get(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        care_plan = plan_reads.current_plan_of_episode(episode)
        if care_plan is None:
            raise exceptions.NotFound("The episode has no care plan yet.")
        return _plan_response(request, care_plan)

    @extend_schema(
        tags=TAG,
        summary="Start the care plan (a draft)",
        description="With the needs to begin with (for instance the assessment's "
        "suggested needs), each with its goals and interventions if known.",
        request=CarePlanCreateInput,
        responses={
            201: CarePlanOutput,
            400: OpenApiResponse(ErrorsOutput, description="Invalid input."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope or role."),
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorsOutput, description="A draft exists."),
        },
        examples=[
            request_example(
                {
                    "language": "SPA",
                    "needs": [{"domain": "food", "description": "Runs out of food"}],
                }
            )
        ],
    )
    def post(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        data = _parse(CarePlanCreateInput, request)
        needs = _needs_for_service(data.get("needs", []), episode)
        care_plan = care_plan_start(
            episode=episode,
            actor=request.user,
            language=data.get("language", ""),
            needs=[
                {
                    k: v
                    for k, v in need.items()
                    if k in ("domain", "description", "source", "question")
                }
                for need in needs
            ],
        )
        if any(need["goals"] for need in needs):
            care_plan = care_plan_replace(
                care_plan=care_plan,
                needs=[
                    {**need, "uid": saved.uid}
                    for need, saved in zip(
                        needs, care_plan.needs.order_by("position"), strict=True
                    )
                ],
                actor=request.user,
                expected_version=care_plan.lock_version,
            )
        return _plan_response(request, care_plan, status=201, audit=False)


class EpisodeCarePlanVersions(GenericAPIView):
    """Every version of the episode's care plan, newest first."""

    permission_classes = [READ]
    pagination_class = CursorPagination
    serializer_class = CarePlanVersionOutput
    queryset = CarePlan.objects.none()  # for the schema; rows come from a selector

    @extend_schema(tags=TAG, summary="The versions of the episode's care plan")
    def get(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        audit_record(
            action="view",
            object_type="care_plan_list",
            object_id=str(episode.uuid),
            member_ids=[episode.member_id],
            actor=request.user,
        )
        page = self.paginate_queryset(plan_reads.plan_versions(episode))
        rows = [
            {
                "id": plan.uuid,
                "number": plan.number,
                "status": plan.status,
                "version": plan.lock_version,
                "member_agreed_on": plan.member_agreed_on,
                "created_at": plan.created_at,
                "updated_at": plan.updated_at,
            }
            for plan in page
        ]
        return self.get_paginated_response(CarePlanVersionOutput(rows, many=True).data)


class CarePlanDetail(_PlanWrite):
    """One care plan version: read it, replace a draft's content (PUT), or
    change some goals and interventions (PATCH; on the agreed version, their
    status only)."""

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [READ]
        return [WRITE]

    @extend_schema(
        tags=TAG,
        summary="One care plan version",
        responses={200: CarePlanOutput, 404: NOT_FOUND},
        examples=[response_example(200, PLAN_EXAMPLE)],
    )
    def get(self, request, care_plan_id):
        return _plan_response(request, self.plan(request, care_plan_id))

    @extend_schema(
        tags=TAG,
        summary="Replace a draft's needs, goals and interventions",
        description="Rows are matched by uid: present ones change, new ones are "
        "added, missing ones are removed. Part 2 goals you cannot see are kept.",
        request=CarePlanPutInput,
        parameters=[IF_MATCH],
        responses=WRITE_RESPONSES,
        examples=[response_example(409, STALE_PLAN_EXAMPLE, name="Stale version")],
    )
    def put(self, request, care_plan_id):
        care_plan = self.plan(request, care_plan_id)
        data = _parse(CarePlanPutInput, request)
        care_plan = care_plan_replace(
            care_plan=care_plan,
            needs=_needs_for_service(data["needs"], care_plan.episode),
            language=data.get("language"),
            actor=request.user,
            expected_version=expected_version(request, data),
            part2_allowed=_part2_allowed(request, care_plan.member),
        )
        return _plan_response(request, care_plan, audit=False)

    @extend_schema(
        tags=TAG,
        summary="Change some goals and interventions",
        description="By uid. On the agreed version only `status` changes (goal "
        "and intervention progress); anything else needs a revision. A goal's "
        "`need_uid` must name a need of the plan: a goal without a need is "
        "refused (`need_required`).",
        request=CarePlanPatchInput,
        parameters=[IF_MATCH],
        responses=WRITE_RESPONSES,
        examples=[
            request_example(
                {
                    "version": 6,
                    "goals": [
                        {"uid": "b1e2c3d4-0000-4000-8000-000000000002", "status": "met"}
                    ],
                }
            ),
            response_example(409, STALE_PLAN_EXAMPLE, name="Stale version"),
        ],
    )
    def patch(self, request, care_plan_id):
        care_plan = self.plan(request, care_plan_id)
        data = _parse(CarePlanPatchInput, request)
        allowed = _part2_allowed(request, care_plan.member)
        goals = data.get("goals", [])
        if not allowed:
            hidden = plan_reads.part2_goal_uids(care_plan)
            for index, goal in enumerate(goals):
                if goal["uid"] in hidden:
                    raise exceptions.ValidationError(
                        {f"goals.{index}.uid": ["Not a goal of this plan."]}
                    )
        care_plan = care_plan_patch(
            care_plan=care_plan,
            actor=request.user,
            expected_version=expected_version(request, data),
            language=data.get("language"),
            goals=goals,
            interventions=data.get("interventions", []),
        )
        return _plan_response(request, care_plan, audit=False)


class CarePlanAgree(_PlanWrite):
    """Record the member's agreement to a draft."""

    permission_classes = [WRITE]

    @extend_schema(
        tags=TAG,
        summary="Record the member's agreement",
        description="The version agreed before is superseded; agreeing the first "
        "plan makes an enrolled episode active. A review task opens (6 months).",
        request=AgreeInput,
        parameters=[IF_MATCH],
        responses=WRITE_RESPONSES,
        examples=[request_example({"version": 5, "member_agreed_on": "2026-02-10"})],
    )
    def post(self, request, care_plan_id):
        care_plan = self.plan(request, care_plan_id)
        data = _parse(AgreeInput, request)
        care_plan = care_plan_agree(
            care_plan=care_plan,
            agreed_on=data["member_agreed_on"],
            actor=request.user,
            expected_version=expected_version(request, data),
        )
        return _plan_response(request, care_plan, audit=False)


class CarePlanRevise(_PlanWrite):
    """Start a new version from the agreed one."""

    permission_classes = [CREATE]

    @extend_schema(
        tags=TAG,
        summary="Revise the agreed plan (a new draft version)",
        description="Needs, goals and interventions are copied with the same uids.",
        request=VersionInput,
        parameters=[IF_MATCH],
        responses={**WRITE_RESPONSES, 201: CarePlanOutput},
        examples=[request_example({"version": 6})],
    )
    def post(self, request, care_plan_id):
        care_plan = self.plan(request, care_plan_id)
        data = _parse(VersionInput, request)
        draft = care_plan_revise(
            care_plan=care_plan,
            actor=request.user,
            expected_version=expected_version(request, data),
        )
        return _plan_response(request, draft, status=201, audit=False)


# --- Care team and conferences --------------------------------------------------------


def _team_row(row: CareTeamMember) -> dict:
    return {
        "id": row.uuid,
        "kind": row.kind,
        "role": row.role,
        "name": row.display_name,
        "email": row.user.email if row.user_id else row.email,
        "phone": row.phone,
        "organization_name": row.organization_name,
        "access_until": row.access_until,
        "added_at": row.added_at,
        "removed_at": row.removed_at,
    }


class EpisodeCareTeam(GenericAPIView):
    """The member's care team (besides the lead care manager), or add to it."""

    pagination_class = CursorPagination
    serializer_class = CareTeamMemberOutput
    queryset = CareTeamMember.objects.none()  # for the schema

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [TEAM_READ]
        return [TEAM_ADD]

    @extend_schema(tags=TAG, summary="The care team")
    def get(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        audit_record(
            action="view",
            object_type="care_team",
            object_id=str(episode.uuid),
            member_ids=[episode.member_id],
            actor=request.user,
        )
        page = self.paginate_queryset(plan_reads.care_team_of_episode(episode))
        return self.get_paginated_response(
            CareTeamMemberOutput([_team_row(row) for row in page], many=True).data
        )

    @extend_schema(
        tags=TAG,
        summary="Add to the care team",
        description="A colleague by `user_email` (gives them an expiring access "
        "grant; needs the grant permission, which API clients lack: 403), or an "
        "outside contact by `name` with a phone or e-mail.",
        request=CareTeamInput,
        responses={
            201: CareTeamMemberOutput,
            400: OpenApiResponse(ErrorsOutput, description="Invalid input."),
            403: OpenApiResponse(ErrorsOutput, description="Missing scope or role."),
            404: NOT_FOUND,
        },
        examples=[
            request_example(
                {
                    "role": "pcp",
                    "name": "Dr. Synthetic Example",
                    "organization_name": "Example Clinic",
                    "phone": "619-555-0100",
                }
            )
        ],
    )
    def post(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        data = _parse(CareTeamInput, request)
        user = _staff_user(data.get("user_email"), episode, "user_email")
        row = care_team_add(
            episode=episode,
            role=data["role"],
            user=user,
            name=data.get("name", ""),
            organization_name=data.get("organization_name", ""),
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            until=data.get("access_until"),
            actor=request.user,
        )
        return Response(CareTeamMemberOutput(_team_row(row)).data, status=201)


class CareTeamMemberDetail(APIView):
    """Take someone off the care team."""

    permission_classes = [TEAM_REMOVE]

    @extend_schema(
        tags=TAG,
        summary="Remove from the care team",
        responses={200: CareTeamMemberOutput, 404: NOT_FOUND},
    )
    def delete(self, request, team_member_id):
        row = plan_reads.care_team_member_for_api(request.user, team_member_id)
        row = care_team_remove(team_member=row, actor=request.user)
        return Response(CareTeamMemberOutput(_team_row(row)).data)


class EpisodeCareConferences(GenericAPIView):
    """The member's care conferences, or record one."""

    pagination_class = CursorPagination
    serializer_class = CareConferenceOutput
    queryset = CareTeamMember.objects.none()  # for the schema

    def get_permissions(self):
        if self.request is not None and self.request.method in SAFE_METHODS:
            return [CONFERENCE_READ]
        return [CONFERENCE_ADD]

    @staticmethod
    def _row(conference, episode) -> dict:
        return {
            "id": conference.uuid,
            "episode_id": episode.uuid,
            "held_on": conference.held_on,
            "attendees": conference.attendees,
            "notes": conference.notes,
            "created_at": conference.created_at,
        }

    @extend_schema(tags=TAG, summary="Care conferences")
    def get(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        audit_record(
            action="view",
            object_type="care_conference_list",
            object_id=str(episode.uuid),
            member_ids=[episode.member_id],
            actor=request.user,
        )
        page = self.paginate_queryset(plan_reads.conferences_of_episode(episode))
        return self.get_paginated_response(
            CareConferenceOutput(
                [self._row(row, episode) for row in page], many=True
            ).data
        )

    @extend_schema(
        tags=TAG,
        summary="Record a care conference",
        request=CareConferenceInput,
        responses={
            201: CareConferenceOutput,
            400: OpenApiResponse(ErrorsOutput, description="Invalid input."),
            404: NOT_FOUND,
        },
        examples=[
            request_example(
                {
                    "most_recent_care_conference_date": "2026-02-12",
                    "attendees": "Lead care manager, member, PCP",
                }
            )
        ],
    )
    def post(self, request, episode_id):
        episode = plan_reads.episode_for_api(request.user, episode_id)
        data = _parse(CareConferenceInput, request)
        conference = care_conference_record(
            episode=episode,
            held_on=data["most_recent_care_conference_date"],
            attendees=data["attendees"],
            notes=data.get("notes", ""),
            actor=request.user,
        )
        return Response(
            CareConferenceOutput(self._row(conference, episode)).data, status=201
        )
