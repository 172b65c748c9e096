"""Member search and the chart's record forms in the permission matrix.

Search: every person whose role reads members may search (tests/members/
test_search_page.py shows they find only their own members; a role without
`members.view_member` gets 403).

The chart's forms: 404 first for anyone who may not see the member's chart
(the CS provider has referral scope only), then 403 for those who may see it but
whose role does not record populations of focus or program enrollments. Only the
member's plan administrators write (and are sent back to the chart: 302).
"""

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import register

SEES_CHART_WITHOUT_PERMISSION = {
    "lead_care_manager",
    "supervisor",
    "provider_admin",
    "auditor",
}

register(
    "member_search",
    "GET",
    lambda cast: f"{reverse('member_search')}?q={cast.member.cin}",
    allowed=[person for person in PEOPLE if person != "interface_admin"],
    forbidden={"interface_admin"},
)
register(
    "member_population_add",
    "POST",
    lambda cast: reverse("member_population_add", args=[cast.member.uuid]),
    allowed={"plan_admin"},
    forbidden=SEES_CHART_WITHOUT_PERMISSION,
    ok_status=(302,),
    data=lambda cast: {
        "population": "adult_smh_sud",
        "source": "plan_data",
        "start_date": "2025-01-01",
        "evidence": "Synthetic matrix evidence",
    },
)
register(
    "member_other_program_add",
    "POST",
    lambda cast: reverse("member_other_program_add", args=[cast.member.uuid]),
    allowed={"plan_admin"},
    forbidden=SEES_CHART_WITHOUT_PERMISSION,
    ok_status=(302,),
    data=lambda cast: {
        "program": "hospice",
        "start_date": "2025-02-01",
        "source": "Synthetic matrix source",
    },
)
