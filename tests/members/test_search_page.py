"""The "Find a member" page: what it finds, for whom, what it records, its cost."""

import re
from datetime import date

import pytest
from django.urls import reverse

from calaim.accounts import roles
from calaim.accounts.models import County
from calaim.audit.models import AuditEvent
from members.models import Member, MemberCin
from tests import factories

SEARCH = "/members/search/"


def _search(client, user, **params):
    client.force_login(user)
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    return response.content.decode()


def _result_rows(body):
    """The result table's rows: (linked member uuid, the row's text)."""
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    found = []
    for row in rows:
        link = re.search(r'href="/members/([0-9a-f-]{36})/"', row)
        if link:
            text = re.sub(r"<[^>]+>", " ", row)
            found.append((link.group(1), " ".join(text.split())))
    return found


def _found(body):
    return [member_uuid for member_uuid, _ in _result_rows(body)]


def test_search_url_is_named():
    assert reverse("member_search") == SEARCH


def test_the_form_is_labelled_and_says_what_to_enter(client, cast):
    body = _search(client, cast.plan_admin)

    assert '<label class="form-label" for="id_q">CIN, BIC ID or name</label>' in body
    assert 'type="date" name="birth_date"' in body
    assert 'for="id_birth_date"' in body
    assert 'role="search"' in body
    assert "Enter a CIN, BIC ID or name" in body
    assert _found(body) == []


@pytest.mark.parametrize(
    "query",
    [
        "cin",
        "prior_cin",
        "bic",
        "misspelt_name",
        "full_name_lowercase",
        "first_letters",
    ],
)
def test_plan_admin_finds_the_member_every_way(client, cast, query):
    member = cast.member  # Casey Castmember
    MemberCin.objects.create(
        cin="97777777Z", member=member, is_current=False, source="test"
    )
    text = {
        "cin": member.cin,
        "prior_cin": "97777777z",
        "bic": f"{member.cin}29180",
        "misspelt_name": "Castmembr",
        "full_name_lowercase": "casey castmember",
        "first_letters": "cAs",
    }[query]

    body = _search(client, cast.plan_admin, q=text)

    assert _found(body) == [str(member.uuid)]
    assert "1 member found" in body


def test_birth_date_alone_or_with_a_name_narrows_the_search(client, cast):
    twin = factories.MemberFactory(
        first_name="Casey", last_name="Castmember", birth_date=date(1991, 2, 3)
    )
    factories.EnrollmentFactory(member=twin, plan=cast.plan)

    by_date = _search(client, cast.plan_admin, birth_date="1991-02-03")
    by_name = _search(client, cast.plan_admin, q="Castmember")
    by_both = _search(client, cast.plan_admin, q="Castmember", birth_date="1980-05-17")

    assert _found(by_date) == [str(twin.uuid)]
    assert sorted(_found(by_name)) == sorted([str(twin.uuid), str(cast.member.uuid)])
    assert _found(by_both) == [str(cast.member.uuid)]


def test_a_result_row_shows_name_cin_birth_date_county_and_current_plan(client, cast):
    Member.objects.filter(pk=cast.member.pk).update(
        county=County.objects.get(code="37")
    )
    ended = factories.MemberFactory(first_name="Casey", last_name="Castmembers")
    factories.EnrollmentFactory(
        member=ended, plan=cast.plan, end_date=date(2025, 3, 31)
    )

    body = _search(client, cast.plan_admin, q="Castmember")
    rows = dict(_result_rows(body))

    assert rows[str(cast.member.uuid)] == (
        f"Castmember, Casey {cast.member.cin} May 17, 1980 San Diego Cast Plan"
    )
    assert rows[str(ended.uuid)].endswith("— Not currently enrolled")
    chart = reverse("member_chart", args=[cast.member.uuid])
    assert f'href="{chart}"' in body


def test_nothing_found_says_so(client, cast):
    body = _search(client, cast.plan_admin, q="Nobodyatall")

    assert "No members match" in body
    assert _found(body) == []


@pytest.mark.parametrize("text", ["%", "_", "%_"])
def test_like_wildcards_in_a_name_are_taken_literally(client, cast, text):
    body = _search(client, cast.plan_admin, q=text)

    assert _found(body) == []


def test_another_plans_admin_finds_nothing_of_ours(client, cast):
    for query in (cast.member.cin, "Castmember"):
        body = _search(client, cast.other_plan_admin, q=query)
        assert _found(body) == [], query
        assert "No members match" in body
    # ...but does find the member of their own plan.
    body = _search(client, cast.other_plan_admin, q="Othermember")
    assert _found(body) == [str(cast.other_member.uuid)]


def test_care_manager_finds_only_their_caseload(client, cast):
    # Same plan, same family name, not in the care manager's caseload.
    neighbour = factories.MemberFactory(first_name="Cory", last_name="Castmember")
    factories.EnrollmentFactory(member=neighbour, plan=cast.plan)

    mine = _search(client, cast.lead_care_manager, q="Castmember")
    colleague = _search(client, cast.colleague, q="Castmember")
    plan = _search(client, cast.plan_admin, q="Castmember")

    assert _found(mine) == [str(cast.member.uuid)]
    assert _found(colleague) == []
    assert sorted(_found(plan)) == sorted([str(cast.member.uuid), str(neighbour.uuid)])


def test_referral_only_provider_finds_no_chart_to_open(client, cast):
    # The CS provider sees referral data only; search shows chart data (birth
    # date, plan), so it finds nothing for them.
    body = _search(client, cast.cs_provider, q=cast.member.cin)

    assert _found(body) == []


def test_a_search_is_audited_with_the_members_shown_and_not_the_text(client, cast):
    neighbour = factories.MemberFactory(first_name="Cory", last_name="Castmember")
    factories.EnrollmentFactory(member=neighbour, plan=cast.plan)

    _search(client, cast.plan_admin, q="Castmember", birth_date="")

    event = AuditEvent.objects.exclude(action="login").get(actor_id=cast.plan_admin.pk)
    assert (event.action, event.object_type) == ("view", "member_search")
    assert sorted(event.member_ids) == sorted([cast.member.pk, neighbour.pk])
    assert event.path == SEARCH
    for recorded in (event.reason, event.object_id, event.path, event.user_agent):
        assert "castmember" not in recorded.lower()


def test_a_search_that_shows_nobody_records_no_view(client, cast):
    _search(client, cast.other_plan_admin, q=cast.member.cin)
    _search(client, cast.plan_admin)  # the empty form

    assert not AuditEvent.objects.filter(object_type="member_search").exists()


def test_roles_that_do_not_read_members_get_403(client, cast):
    interface_admin = factories.UserFactory(
        organization=cast.plan, roles=[roles.INTERFACE_ADMIN]
    )
    client.force_login(interface_admin)

    response = client.get(SEARCH, {"q": cast.member.cin})

    assert response.status_code == 403
    assert cast.member.cin not in response.content.decode()
    assert not AuditEvent.objects.filter(object_type="member_search").exists()


def test_navigation_offers_find_a_member_to_those_who_may_search(client, cast):
    interface_admin = factories.UserFactory(
        organization=cast.plan, roles=[roles.INTERFACE_ADMIN]
    )

    client.force_login(cast.lead_care_manager)
    member_reader = client.get(reverse("home")).content.decode()
    client.force_login(interface_admin)
    other = client.get(reverse("home")).content.decode()

    assert f'href="{SEARCH}">Find a member<' in member_reader
    assert "Find a member" not in other


def test_the_page_marks_itself_current_in_the_navigation(client, cast):
    body = _search(client, cast.plan_admin, q="x")

    assert f'href="{SEARCH}" aria-current="page">Find a member<' in body


def test_an_invalid_birth_date_is_an_error_not_a_search(client, cast):
    body = _search(client, cast.plan_admin, birth_date="1980-13-45")

    assert "Enter a valid date." in body
    assert 'id="id_birth_date_error"' in body
    assert 'aria-describedby="id_birth_date_error"' in body
    assert _found(body) == []


def test_htmx_gets_the_results_alone_and_the_page_still_works_without(client, cast):
    client.force_login(cast.plan_admin)

    partial = client.get(SEARCH, {"q": cast.member.cin}, headers={"HX-Request": "true"})
    full = client.get(SEARCH, {"q": cast.member.cin})
    restore = client.get(
        SEARCH,
        {"q": cast.member.cin},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    partial_body = partial.content.decode()
    assert "<html" not in partial_body
    assert "<form" not in partial_body
    assert _found(partial_body) == [str(cast.member.uuid)]
    assert "HX-Request" in partial["Vary"]
    for whole in (full, restore):
        body = whole.content.decode()
        assert "<html" in body
        assert 'hx-get="/members/search/"' in body
        assert 'hx-target="#search-results"' in body
        assert 'hx-push-url="true"' in body
        assert _found(body) == [str(cast.member.uuid)]


# --- Query counts ------------------------------------------------------------------

# Session and the user, with their organization (page header), roles and
# permissions (calaim.accounts.backends). The idle clock's session save happens
# at most once a minute.
SHELL_QUERIES = 2
# The search (one query, scoped, counties joined) and the current enrollment
# spans with their plans.
SEARCH_QUERIES = 2


def _more_castmembers(cast, count):
    county = County.objects.get(code="37")
    for number in range(count):
        member = factories.MemberFactory(
            first_name=f"Casey{number}", last_name="Castmember", county=county
        )
        factories.EnrollmentFactory(member=member, plan=cast.plan)
        factories.EnrollmentFactory(
            member=member,
            plan=cast.other_plan,
            start_date=date(2020, 1, 1),
            end_date=date(2020, 12, 31),
        )


@pytest.mark.parametrize("extra", [0, 5])
def test_name_search_query_count_does_not_grow_with_the_results(
    client, cast, django_assert_num_queries, extra
):
    _more_castmembers(cast, extra)
    client.force_login(cast.plan_admin)
    client.get(reverse("home"))

    # One more for the audit event.
    with django_assert_num_queries(SHELL_QUERIES + SEARCH_QUERIES + 1):
        response = client.get(SEARCH, {"q": "Castmember"})

    assert len(_found(response.content.decode())) == 1 + extra


def test_cin_search_query_count(client, cast, django_assert_num_queries):
    Member.objects.filter(pk=cast.member.pk).update(
        county=County.objects.get(code="37")
    )
    client.force_login(cast.plan_admin)
    client.get(reverse("home"))

    with django_assert_num_queries(SHELL_QUERIES + SEARCH_QUERIES + 1):
        response = client.get(SEARCH, {"q": cast.member.cin})

    assert "San Diego" in response.content.decode()
