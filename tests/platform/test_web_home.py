"""The home page per role and the main navigation."""

import re

import pytest
from django.urls import reverse

from tests import factories

# Session, the user (with organization, roles and permissions: calaim.accounts.
# backends) and the role's panel query. The session save that extends the idle
# clock happens at most once a minute, not here.
HOME_QUERIES = 3


def _home(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _nav(body):
    return re.search(r'<nav class="navbar.*?</nav>', body, re.S).group(0)


def _more_caseload(cast, count):
    for _ in range(count):
        member = factories.MemberFactory()
        factories.EnrollmentFactory(member=member, plan=cast.plan)
        factories.EpisodeFactory(
            member=member,
            ecm_provider=cast.ecm_provider,
            lead_care_manager=cast.lead_care_manager,
        )


def test_care_manager_sees_their_caseload_with_links_to_the_chart(client, cast):
    body = _home(client, cast.lead_care_manager)

    assert "My caseload" in body
    assert "Castmember, Casey" in body
    assert cast.member.cin in body
    assert "Enrolled" in body  # the episode's status
    assert reverse("member_chart", args=[cast.member.uuid]) in body
    assert "Othermember" not in body


def test_colleague_without_responsibility_has_an_empty_caseload(client, cast):
    body = _home(client, cast.colleague)

    assert "My caseload" in body
    assert "No members are assigned to you" in body
    assert cast.member.cin not in body


@pytest.mark.parametrize("extra", [0, 5])
def test_caseload_query_count_does_not_grow_with_the_caseload(
    client, cast, django_assert_num_queries, extra
):
    _more_caseload(cast, extra)
    client.force_login(cast.lead_care_manager)
    client.get(reverse("home"))  # stamps the idle clock

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get(reverse("home"))

    # Links to members' charts (the navigation also links /members/search/).
    charts = re.findall(r"/members/[0-9a-f-]{36}/", response.content.decode())
    assert len(charts) == 1 + extra


def test_supervisor_sees_the_organizations_open_episodes(client, cast):
    body = _home(client, cast.supervisor)

    assert "Open ECM episodes of my organization" in body
    assert "Castmember, Casey" in body
    assert "Lead Care Manager" in body  # who holds the member
    assert "My caseload" not in body


@pytest.mark.parametrize("extra", [0, 5])
def test_supervisor_home_query_count_is_pinned(
    client, cast, django_assert_num_queries, extra
):
    _more_caseload(cast, extra)
    client.force_login(cast.supervisor)
    client.get(reverse("home"))

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get(reverse("home"))

    assert f"{1 + extra}</span> open episode" in response.content.decode()


def test_plan_admin_sees_how_many_members_the_plan_has(
    client, cast, django_assert_num_queries
):
    ended = factories.MemberFactory()
    factories.EnrollmentFactory(
        member=ended, plan=cast.plan, end_date=factories.date(2025, 3, 31)
    )
    client.force_login(cast.plan_admin)
    client.get(reverse("home"))

    with django_assert_num_queries(HOME_QUERIES):
        body = client.get(reverse("home")).content.decode()

    assert "Members of the plan" in body
    counts = re.findall(r"<dd[^>]*>(\d+)</dd>", body)
    assert counts == ["1", "2"]  # currently enrolled, ever enrolled


def test_cs_provider_sees_open_referrals_to_their_organization(
    client, cast, django_assert_num_queries
):
    client.force_login(cast.cs_provider)
    client.get(reverse("home"))

    with django_assert_num_queries(HOME_QUERIES):
        body = client.get(reverse("home")).content.decode()

    assert "Open referrals" in body
    assert "1</span> open referral to your organization" in body
    assert reverse("member_chart", args=[cast.member.uuid]) in body


def test_other_cs_provider_has_no_open_referrals(client, cast):
    body = _home(client, cast.other_cs_provider)

    assert "0</span> open referrals" in body
    assert cast.member.cin not in body


def test_auditor_gets_a_link_to_the_audit_trail(client, cast):
    body = _home(client, cast.auditor)

    assert f'href="{reverse("audit_log")}"' in body
    assert "Audit trail" in _nav(body)
    assert "My tasks" not in _nav(body)
    assert cast.member.cin not in body


def test_navigation_marks_the_current_page(client, cast):
    body = _home(client, cast.lead_care_manager)
    nav = _nav(body)

    assert re.search(r'href="/"\s+aria-current="page">Home<', nav)
    assert nav.count('aria-current="page"') == 1
    assert 'href="/tasks/"' in nav
    assert "Audit trail" not in nav
    assert "Admin" not in nav


def test_staff_get_the_admin_link(client, cast):
    cast.plan_admin.is_staff = True
    cast.plan_admin.save(update_fields=["is_staff"])

    nav = _nav(_home(client, cast.plan_admin))

    assert f'href="{reverse("admin:index")}"' in nav


def test_shell_has_landmarks_skip_link_and_the_idle_warning(client, cast):
    body = _home(client, cast.lead_care_manager)

    assert '<a class="visually-hidden-focusable skip-link" href="#main">' in body
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in body
    assert "<title>Home · CalAIM Care</title>" in body
    assert 'data-idle-seconds="900"' in body
    assert 'role="alertdialog"' in body
    assert "js/session.js" in body


def test_login_page_has_no_idle_warning(client, db):
    body = client.get(reverse("login")).content.decode()

    assert "session-timeout" not in body
    assert "js/session.js" not in body
