"""Member pages and endpoints in the permission matrix (see tests/matrix.py)."""

import uuid

from django.urls import reverse

from tests.matrix import register


def _chart(member):
    return reverse("member_chart", args=[member.uuid])


# The whole chart for those responsible for the member (DESIGN.md §3); the CS
# provider with an open referral gets the same page with the referral panels only
# (tests/members/test_chart.py checks what each scope shows).
register(
    "member_chart",
    "GET",
    lambda cast: _chart(cast.member),
    allowed={
        "lead_care_manager",
        "supervisor",
        "provider_admin",
        "plan_admin",
        "auditor",
        "cs_provider",
    },
)
register(
    "member_chart_other_member",
    "GET",
    lambda cast: _chart(cast.other_member),
    allowed={"other_plan_admin"},
)
# A member that does not exist answers like one you may not see: 404.
register(
    "member_chart_missing",
    "GET",
    lambda cast: reverse("member_chart", args=[uuid.UUID(int=1)]),
    allowed=set(),
)
