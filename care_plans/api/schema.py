"""OpenAPI pieces of the ECM provider API: examples and shared responses."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from care_plans.api.serializers import EpisodeOutput, ErrorsOutput

TAG = ["ECM episodes"]

# --- Examples (OpenAPI) -------------------------------------------------------------

EPISODE_EXAMPLE = {
    "id": "3f0c9a56-1d2b-4c8e-9a57-0b1f2e3d4c5a",
    "version": 4,
    "status": "enrolled",
    "updated_at": "2026-02-03T17:05:12.481Z",
    "member_id": "8b5d1c2e-7f4a-4e11-9c3d-2a6b7c8d9e0f",
    "primary_payer_id": "37",
    "mcp_name": "Pacific Coast Health Plan",
    "cin": "91234567A",
    "last_name": "Sample",
    "first_name": "Alex",
    "middle_name": "",
    "birth_date": "1979-04-12",
    "preferred_language": "SPA",
    "homelessness_indicator": False,
    "residential_address": "100 Example St",
    "residential_address_2": "",
    "residential_city": "San Diego",
    "residential_state": "CA",
    "residential_zip": "92101",
    "phone": "6195550100",
    "pof": "adult_homeless_individual",
    "populations_of_focus": ["adult_homeless_individual"],
    "ecm_status": "Enrolled",
    "ecm_enrollment_start_date": "2026-01-15",
    "ecm_enrollment_end_date": None,
    "latest_care_plan_revision_date": "2026-02-10",
    "most_recent_care_conference_date": "2026-02-12",
    "assessment_started_date": "2026-01-20",
    "most_recent_completed_assessment_date": "2026-01-27",
    "most_recent_encounter_date": "2026-02-03",
    "lead_care_manager_name": "Jordan Example",
    "lead_care_manager_phone": "6195550111",
    "lead_care_manager_email": "jordan@harbor.example",
    "discontinuation_date": None,
    "discontinuation_reason_code": None,
    "discontinuation_reason": None,
    "discontinuation_note": None,
    "in_person_encounter_count": 2,
    "telephonic_video_encounter_count": 1,
    "ecm_provider_name": "Harbor Community Health",
    "ecm_provider_npi": "1234567893",
    "ecm_provider_tin": "123456789",
    "ecm_provider_phone": "6195550199",
}
DISCONTINUED_EXAMPLE = {
    **EPISODE_EXAMPLE,
    "version": 5,
    "status": "discontinued",
    "ecm_status": "Discontinued",
    "ecm_enrollment_end_date": "2026-06-30",
    "discontinuation_date": "2026-06-30",
    "discontinuation_reason_code": "1",
    "discontinuation_reason": "All care plan goals met",
}
OUTREACH_REQUEST_EXAMPLE = {
    "outreach_date": "2026-01-10T15:30:00-08:00",
    "outreach_method": "phone",
    "outreach_successful": False,
    "outcome": "left_message",
    "outreach_minutes": 10,
    "note": "Left a voicemail with a call-back number.",
}
OUTREACH_EXAMPLE = {
    "id": "0d6b2f7e-5a1c-4f3b-8e2d-9c0a1b2c3d4e",
    "episode_id": EPISODE_EXAMPLE["id"],
    "episode_status": "outreach",
    "episode_version": 3,
    "outreach_date": "2026-01-10T23:30:00Z",
    "outreach_method": "phone",
    "otf_outreach_method": "Telephonic",
    "outreach_successful": False,
    "outcome": "left_message",
    "outreach_minutes": 10,
    "note": "Left a voicemail with a call-back number.",
    "created_at": "2026-01-10T23:31:02.120Z",
}
ENCOUNTER_REQUEST_EXAMPLE = {
    "encounter_date": "2026-02-03",
    "mode": "telephonic",
    "minutes": 30,
    "clinical": False,
}
ENCOUNTER_EXAMPLE = {
    "id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
    "episode_id": EPISODE_EXAMPLE["id"],
    "encounter_date": "2026-02-03",
    "mode": "telephonic",
    "minutes": 30,
    "hcpcs_code": "G9012",
    "modifiers": ["U2", "GQ"],
    "note": "",
    "created_at": "2026-02-03T17:05:12.481Z",
}
STALE_EXAMPLE = {
    "errors": [
        {
            "field": None,
            "code": "stale_version",
            "message": "This episode changed since you loaded it (version 3, now 4); "
            "reload and try again.",
        }
    ]
}
INVALID_OUTREACH_EXAMPLE = {
    "errors": [
        {
            "field": "outreach_date",
            "code": "invalid",
            "message": "An attempt cannot be in the future.",
        }
    ]
}


def response_example(status, body, *, name="Example"):
    return OpenApiExample(name, value=body, response_only=True, status_codes=[status])


def request_example(body, *, name="Example"):
    return OpenApiExample(name, value=body, request_only=True)


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description='The episode\'s version as an entity tag, e.g. "4"; instead of '
    "`version` in the body.",
)
NOT_FOUND = OpenApiResponse(ErrorsOutput, description="No such episode for you.")
ACTION_RESPONSES = {
    200: EpisodeOutput,
    400: OpenApiResponse(ErrorsOutput, description="Invalid input or step."),
    403: OpenApiResponse(ErrorsOutput, description="Missing scope or role."),
    404: NOT_FOUND,
    409: OpenApiResponse(ErrorsOutput, description="Stale version (`stale_version`)."),
}
