"""The member chart: header, panels per scope, audit, query counts."""

import re
from datetime import date

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from calaim import access as registry
from calaim.audit.models import AuditEvent
from calaim.web import panels as panel_registry
from tests import factories


def _chart_url(member):
    return reverse("member_chart", args=[member.uuid])


def _chart(client, user, member):
    client.force_login(user)
    response = client.get(_chart_url(member))
    assert response.status_code == 200
    return response.content.decode()


def _panel_keys(body):
    return re.findall(r'data-panel="([a-z_]+)"', body)


# Every chart panel in order (the members app's record panels are checked in
# detail by tests/members/test_chart_panels.py).
CHART_PANELS = [
    "chart_header",
    "demographics",
    "enrollment",
    "ecm_episode",
    "ecm_outreach",
    "ecm_encounters",
    "ecm_timeline",
    "ecm_notices",
    "assessment",
    "populations",
    "care_plan",
    "care_team",
    "other_programs",
    "transitions",
    "consents",
    "referrals",
    "cin_history",
    "changes",
]
# The header panel is drawn inside the header card; the rest in the body.
BODY_PANELS = CHART_PANELS[1:]


def test_care_manager_sees_header_and_every_panel_in_order(client, cast):
    body = _chart(client, cast.lead_care_manager, cast.member)

    assert "Casey Castmember" in body
    assert cast.member.cin in body
    assert "May 17, 1980" in body  # the factory's birth date
    assert re.search(r"\(age \d+\)", body)
    assert re.search(r"Cast Plan, [A-Za-z ]+ County, since Jan 1, 2025", body)
    assert _panel_keys(body) == BODY_PANELS
    # The ECM episode panel: status, provider, lead care manager.
    assert "Cast ECM Provider" in body
    assert "Lead Care Manager" in body
    # The referrals panel: the referral to the CS provider.
    assert "Cast CS Provider" in body


def test_every_chart_viewer_gets_the_whole_chart(client, cast):
    for person in ("supervisor", "provider_admin", "plan_admin", "auditor"):
        body = _chart(client, getattr(cast, person), cast.member)
        assert _panel_keys(body) == BODY_PANELS, person
        assert "May 17, 1980" in body, person


def test_referral_only_viewer_sees_referral_data_only(client, cast):
    # A second referral, to another CS provider, that cs_provider must not read.
    factories.ReferralFactory(
        member=cast.member, receiving_organization=cast.other_cs_organization
    )

    body = _chart(client, cast.cs_provider, cast.member)

    assert "Casey Castmember" in body
    assert cast.member.cin in body
    assert _panel_keys(body) == ["referrals"]
    assert "1980" not in body  # no birth date
    assert "Cast Plan" not in body  # no enrollment
    assert "Cast ECM Provider" not in body  # no episode
    assert "Cast CS Provider" in body
    assert "Cast Other CS" not in body
    assert "referral information only" in body


def test_chart_view_is_audited_once_with_the_member(client, cast):
    client.force_login(cast.cs_provider)
    client.get(_chart_url(cast.member))

    events = AuditEvent.objects.filter(actor_id=cast.cs_provider.pk, action="view")
    assert [(e.action, e.object_type, e.member_ids) for e in events] == [
        ("view", "member", [cast.member.pk])
    ]


def test_member_without_current_enrollment_says_so(client, cast):
    member = factories.MemberFactory()
    factories.EnrollmentFactory(
        member=member, plan=cast.plan, end_date=date(2025, 3, 31)
    )

    body = _chart(client, cast.plan_admin, member)

    assert "Not currently enrolled" in body
    assert "Mar 31, 2025" in body  # the ended span, in the enrollment panel
    assert "No open ECM episode." in body
    assert "No referrals." in body


# --- Query counts ------------------------------------------------------------------

# Session, the user (with their organization for the page header, roles, and
# permissions for the navigation: calaim.accounts.backends) and the audit event.
# The session save that extends the idle clock happens at most once a minute.
SHELL_QUERIES = 3
# members.access.access_member: the member, their county and the access rules'
# answer, in one query.
ACCESS_QUERIES = 1
# Every panel of a care manager's chart together (see the query-count test).
CHART_PANEL_QUERIES = 17


def _data_rows(response):
    body = response.content.decode()
    return body.count("<tr>") - body.count("<thead><tr>")


def _grow(cast, count):
    """More rows in every panel, to show the counts do not grow with them."""
    for year in range(2010, 2010 + count):
        factories.EnrollmentFactory(
            member=cast.member,
            plan=cast.other_plan,
            start_date=date(year, 1, 1),
            end_date=date(year, 6, 30),
        )
        factories.ReferralFactory(
            member=cast.member, receiving_organization=cast.cs_organization
        )


@pytest.mark.parametrize("extra", [0, 4])
def test_chart_query_count_for_a_care_manager(
    client, cast, django_assert_num_queries, extra
):
    _grow(cast, extra)
    client.force_login(cast.lead_care_manager)
    client.get(reverse("home"))

    # The shell, the access check, and the panels: most take one query
    # (demographics none: the county comes with the member), the header three
    # (the episode, the member's populations and consents, which the populations
    # and consents panels then take: none of their own), the care plan one (no
    # plan yet: the suggestions for one need no query when the assessment
    # panel's rows hold no completed assessment), the care team two and the
    # timeline one (its sources merged in one query). Pinned: the count must not
    # grow with the rows (extra).
    with django_assert_num_queries(
        SHELL_QUERIES + ACCESS_QUERIES + CHART_PANEL_QUERIES
    ):
        response = client.get(_chart_url(cast.member))

    # Enrollment spans, referrals, and the member's one CIN.
    assert _data_rows(response) == 2 + 2 * extra + 1


@pytest.mark.parametrize("extra", [0, 4])
def test_chart_query_count_for_a_referral_only_viewer(
    client, cast, django_assert_num_queries, extra
):
    _grow(cast, extra)
    client.force_login(cast.cs_provider)
    client.get(reverse("home"))

    # The shell, a failed chart-scope check, the referral-scope check, the panel.
    with django_assert_num_queries(SHELL_QUERIES + 2 * ACCESS_QUERIES + 1):
        response = client.get(_chart_url(cast.member))

    assert _data_rows(response) == 1 + extra


def _panel(key):
    return next(
        panel
        for panel in panel_registry.chart_panels(registry.CHART)
        if panel.key == key
    )


def _request(user, scope):
    request = RequestFactory().get("/")
    request.user = user
    request.chart_scope = scope
    return request


@pytest.mark.parametrize(
    ("key", "scope", "viewer"),
    [
        ("enrollment", registry.CHART, "lead_care_manager"),
        ("ecm_episode", registry.CHART, "lead_care_manager"),
        ("referrals", registry.CHART, "lead_care_manager"),
        ("referrals", registry.REFERRAL, "cs_provider"),
    ],
)
@pytest.mark.parametrize("extra", [0, 3])
def test_each_panel_runs_one_query(
    cast, django_assert_num_queries, key, scope, viewer, extra
):
    _grow(cast, extra)
    panel = _panel(key)
    request = _request(getattr(cast, viewer), scope)
    request.user.organization  # noqa: B018  (loaded by the page already)
    request.user.get_all_permissions()  # loaded by the navigation already

    with django_assert_num_queries(1):
        context = panel.context(request, cast.member)
        html = render_to_string(panel.template, context)

    assert "Casey" not in html  # panels never repeat the header's identifiers


def test_referral_panel_defaults_to_the_narrow_scope(cast):
    factories.ReferralFactory(
        member=cast.member, receiving_organization=cast.other_cs_organization
    )
    request = RequestFactory().get("/")
    request.user = cast.cs_provider  # no chart_scope set by a view

    context = _panel("referrals").context(request, cast.member)

    assert [r.receiving_organization for r in context["referrals"]] == [
        cast.cs_organization
    ]


def test_registry_orders_panels_and_filters_by_scope(db):
    chart = [panel.key for panel in panel_registry.chart_panels(registry.CHART)]
    referral = [panel.key for panel in panel_registry.chart_panels(registry.REFERRAL)]

    assert chart[:4] == ["chart_header", "demographics", "enrollment", "ecm_episode"]
    assert "referrals" in chart
    assert referral == ["referrals"]
    with pytest.raises(ValueError, match="unknown scope"):
        panel_registry.chart_panels("everything")
