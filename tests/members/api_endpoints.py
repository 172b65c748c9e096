"""Permission-matrix entries for the members API (see tests/matrix.py)."""

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import API, register

# The interface administrator's role reads HL7 feeds, not members.
SEES_MEMBERS = [person for person in PEOPLE if person != "interface_admin"]

# Every person with a role that reads members may list (they see only their own
# members: possibly none); the provider's system needs members:read, which a
# hospital feed never holds.
register(
    "api_member_list",
    "GET",
    lambda cast: reverse("api_member_list"),
    allowed=[*SEES_MEMBERS, "provider_api"],
    forbidden={"hospital_feed", "interface_admin"},
    kind=API,
)
register(
    "api_member_detail",
    "GET",
    lambda cast: reverse("api_member_detail", args=[cast.member.uuid]),
    allowed={"lead_care_manager", "supervisor", "provider_admin", "plan_admin",
             "auditor", "provider_api"},
    forbidden={"hospital_feed", "interface_admin"},
    kind=API,
)  # fmt: skip
register(
    "api_member_detail_other_member",
    "GET",
    lambda cast: reverse("api_member_detail", args=[cast.other_member.uuid]),
    allowed={"other_plan_admin"},
    forbidden={"hospital_feed", "interface_admin"},
    kind=API,
)
