"""Assessment pages and API calls in the permission matrix (see tests/matrix.py).

Readers are whoever sees the member's chart and holds the view permission (the
lead care manager, the provider's supervisor and administrator, the plan's
administrator); the writers are the care team of the open episode (the lead care
manager, the supervisor, the provider's API client). An auditor sees the member
but not assessments (403); the rest do not see the member (404). Pages answer
404 before 403; API calls check the scope and role first (403), as every API
endpoint does. Records a call needs are made by its url lambda, through the
services, before the database fingerprint.
"""

from django.urls import reverse

from tests.assessments.support import MINIMAL_ANSWERS, start
from tests.matrix import API, register

JSON = "application/json"

READERS = {"lead_care_manager", "supervisor", "provider_admin", "plan_admin"}
WRITERS = {"lead_care_manager", "supervisor"}
# See the member (chart) but may not write assessments.
SEE_NOT_WRITE = {"provider_admin", "plan_admin", "auditor"}
# API: no scope or no role for assessments at all.
API_NO_ROLE = {"cs_provider", "other_cs_provider", "auditor", "interface_admin",
               "hospital_feed"}  # fmt: skip
API_NOT_WRITERS = API_NO_ROLE | {"provider_admin", "plan_admin", "other_plan_admin"}


def _draft(cast):
    key = "_assessment_draft"
    if key not in cast.__dict__:
        cast.__dict__[key] = start(cast)
    return cast.__dict__[key]


def _url(name, assessment):
    return reverse(name, args=[assessment.uuid])


# --- Pages --------------------------------------------------------------------------

register(
    "assessment_history",
    "GET",
    lambda cast: reverse("assessment_history", args=[cast.member.uuid]),
    allowed=READERS,
    forbidden={"auditor"},
)
register(
    "assessment_start",
    "POST",
    lambda cast: reverse("assessment_start", args=[cast.member.uuid]),
    allowed=WRITERS,
    forbidden=SEE_NOT_WRITE,
    ok_status=(302,),
)
register(
    "assessment_detail",
    "GET",
    lambda cast: _url("assessment_detail", _draft(cast)),
    allowed=READERS,
    forbidden={"auditor"},
)
register(
    "assessment_edit",
    "GET",
    lambda cast: _url("assessment_edit", _draft(cast)),
    allowed=WRITERS,
    forbidden=SEE_NOT_WRITE,
)
register(
    "assessment_edit_save",
    "POST",
    lambda cast: _url("assessment_edit", _draft(cast)),
    allowed=WRITERS,
    forbidden=SEE_NOT_WRITE,
    ok_status=(302,),
    data=lambda cast: {
        "version": "1",
        "action": "save",
        "present": ["ph_overall"],
        "q-ph_overall": "good",
    },
)
register(
    "assessment_refresh",
    "POST",
    lambda cast: _url("assessment_refresh", _draft(cast)),
    allowed=WRITERS,
    forbidden=SEE_NOT_WRITE,
    data=lambda cast: {"present": ["ph_has_pcp"], "q-ph_has_pcp": "yes"},
)

# --- API ----------------------------------------------------------------------------

API_READERS = READERS | {"provider_api"}
API_WRITERS = WRITERS | {"provider_api"}

register(
    "api_member_assessments",
    "GET",
    lambda cast: reverse("api_member_assessments", args=[cast.member.uuid]),
    allowed=API_READERS,
    forbidden=API_NO_ROLE,
    kind=API,
)
register(
    "api_member_assessments_start",
    "POST",
    lambda cast: reverse("api_member_assessments", args=[cast.member.uuid]),
    allowed=API_WRITERS,
    forbidden=API_NOT_WRITERS,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {},
)
register(
    "api_assessment_detail",
    "GET",
    lambda cast: _url("api_assessment_detail", _draft(cast)),
    allowed=API_READERS,
    forbidden=API_NO_ROLE,
    kind=API,
)
register(
    "api_assessment_save",
    "PATCH",
    lambda cast: _url("api_assessment_detail", _draft(cast)),
    allowed=API_WRITERS,
    forbidden=API_NOT_WRITERS,
    kind=API,
    content_type=JSON,
    data=lambda cast: {"version": 1, "answers": {"ph_overall": "fair"}},
)
register(
    "api_assessment_complete",
    "POST",
    lambda cast: _url("api_assessment_complete", _draft(cast)),
    allowed=API_WRITERS,
    forbidden=API_NOT_WRITERS,
    kind=API,
    content_type=JSON,
    data=lambda cast: {"version": 1, "answers": MINIMAL_ANSWERS},
)
register(
    "api_assessment_templates",
    "GET",
    lambda cast: reverse("api_assessment_templates"),
    allowed=API_READERS | {"colleague", "other_care_manager", "other_plan_admin"},
    forbidden=API_NO_ROLE,
    kind=API,
)
