"""The plan administrator's ECM screens, through HTTP: identify, the authorization
queue, authorize and deny, the assignment screen, and the printable notices."""

import re
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calaim.accounts import roles
from calaim.audit.models import AuditEvent
from care_plans.models import Episode, EpisodeEvent, Notice
from care_plans.plan_views import time_left
from care_plans.services import (
    episode_authorize,
    episode_identify,
    episode_presumptively_authorize,
)
from community_supports.models import ProviderContract
from members.models import PopulationOfFocus
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    OrganizationFactory,
    UserFactory,
)

TODAY = timezone.localdate


@pytest.fixture
def contract(cast):
    """Cast ECM Provider's ECM contract with the cast's plan in San Diego (37)."""
    contract = ProviderContract.objects.create(
        plan=cast.plan,
        provider=cast.ecm_provider,
        service=ProviderContract.Service.ECM,
        start_date=date(2024, 1, 1),
        capacity=10,
    )
    contract.counties.add("37")
    return contract


def _newcomer(cast, first_name="Nova", **member):
    """A member of the cast's plan with no ECM episode yet."""
    member = MemberFactory(first_name=first_name, last_name="Newcomer", **member)
    EnrollmentFactory(member=member, plan=cast.plan, start_date=date(2025, 1, 1))
    return member


@pytest.fixture
def newcomer(cast):
    return _newcomer(cast)


def _identified(cast, member=None, **options):
    options.setdefault("source", "plan_data")
    return episode_identify(
        member=member or _newcomer(cast), actor=cast.plan_admin, **options
    )


def _authorized(cast, member=None):
    episode = _identified(cast, member)
    return episode_authorize(
        episode=episode,
        actor=cast.plan_admin,
        authorization_number="AUTH-9",
        authorized_from=TODAY(),
        authorized_through=TODAY() + timedelta(days=180),
    )


def _rows(html, table_id):
    """The data-episode uuids of a queue table's rows, in order."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-episode="([0-9a-f-]+)"', table)


def _row(html, episode):
    return html.split(f'data-episode="{episode.uuid}"', 1)[1].split("</tr>", 1)[0]


def _snapshot(episode):
    """What a refused write must leave as it was."""
    episode.refresh_from_db()
    return (
        episode.status,
        episode.version,
        episode.authorization_number,
        episode.lead_care_manager_id,
        EpisodeEvent.objects.filter(episode=episode).count(),
        Notice.objects.filter(episode=episode).count(),
    )


# --- The whole way through ----------------------------------------------------------


def test_plan_admin_takes_a_member_from_identification_to_a_sent_notice(
    client, cast, contract, newcomer
):
    client.force_login(cast.plan_admin)

    chart = client.get(reverse("member_chart", args=[newcomer.uuid])).content.decode()
    identify_url = reverse("ecm_identify", args=[newcomer.uuid])
    assert f'href="{identify_url}"' in chart

    response = client.post(
        identify_url,
        {
            "source": "provider_referral",
            "population": "adult_homeless_individual",
            "urgency": "expedited",
            "referrer_contact": "Dr. Rivera, 555-0100",
            "note": "Seen at the clinic twice this month.",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("ecm_authorization_queue")
    episode = Episode.objects.get(member=newcomer)
    assert episode.status == "authorization_requested"
    assert episode.urgency == "expedited"

    queue = client.get(response["Location"]).content.decode()
    assert _rows(queue, "authorization-queue") == [str(episode.uuid)]
    row = _row(queue, episode)
    assert newcomer.cin in row
    assert reverse("member_chart", args=[newcomer.uuid]) in row
    assert "Provider referral" in row
    assert "Adult – Individuals Experiencing Homelessness" in row
    assert "Expedited" in row
    # 72 hours from the request, read a moment later: counted down, not up.
    assert "Due in 2 days" in row
    assert "Breach" not in row

    authorize_url = reverse("ecm_authorize", args=[episode.uuid])
    page = client.get(authorize_url).content.decode()
    assert f'name="version" value="{episode.version}"' in page
    assert f'value="{TODAY():%Y-%m-%d}"' in page  # from today by default
    response = client.post(
        authorize_url,
        {
            "version": episode.version,
            "authorization_number": "PC-2025-0042",
            "authorized_from": TODAY().isoformat(),
            "authorized_through": (TODAY() + timedelta(days=182)).isoformat(),
        },
    )
    assign_url = reverse("ecm_assign", args=[episode.uuid])
    assert response.status_code == 302
    assert response["Location"] == assign_url
    episode.refresh_from_db()
    assert (episode.status, episode.authorization_number) == (
        "authorized",
        "PC-2025-0042",
    )
    referrer_notice = Notice.objects.get(episode=episode, kind="referrer_decision")

    assignments = client.get(reverse("ecm_assignment_queue")).content.decode()
    assert _rows(assignments, "assignment-queue") == [str(episode.uuid)]

    step_one = client.get(assign_url).content.decode()
    provider_link = f'href="?provider={cast.ecm_provider.uuid}"'
    assert provider_link in step_one
    assert "1 open of 10 places" in step_one  # the cast's own enrolled member
    assert "9 free" in step_one

    step_two = client.get(assign_url, {"provider": cast.ecm_provider.uuid})
    html = step_two.content.decode()
    managers = html.split('id="care-managers"', 1)[1].split("</fieldset>", 1)[0]
    assert re.findall(r'value="([0-9a-f-]+)"', managers) == [
        str(cast.colleague.uuid),
        str(cast.lead_care_manager.uuid),
    ]
    assert re.search(r"Colleague.*?0 on caseload", managers, re.S)
    assert re.search(r"Lead Care Manager.*?1 on caseload", managers, re.S)
    assert "Supervisor" not in managers  # only care managers lead

    response = client.post(
        assign_url,
        {
            "version": episode.version,
            "provider": cast.ecm_provider.uuid,
            "lead_care_manager": cast.colleague.uuid,
        },
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.status == "assigned"
    assert episode.ecm_provider == cast.ecm_provider
    assert episode.lead_care_manager == cast.colleague
    notice = Notice.objects.get(episode=episode, kind="assignment")
    assert response["Location"] == reverse("ecm_notice", args=[notice.uuid])

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="print-notice"' in html
    assert "window.print()" in html
    assert "Cast ECM Provider" in html  # the notice itself
    assert "Colleague" in html
    assert "Not sent yet" in html
    assert AuditEvent.objects.filter(
        object_type="ecm_notice", object_id=str(notice.uuid), action="view"
    ).exists()

    response = client.post(
        reverse("ecm_notice_sent", args=[notice.uuid]), {"method": "mail"}
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.sent_method == "mail"
    assert notice.sent_at is not None
    assert "Sent " in client.get(response["Location"]).content.decode()
    referrer_notice.refresh_from_db()
    assert referrer_notice.sent_at is None

    # Nothing left in either queue.
    queue = client.get(reverse("ecm_authorization_queue")).content.decode()
    assert "Nothing is waiting for a decision." in queue
    assignments = client.get(reverse("ecm_assignment_queue")).content.decode()
    assert "No authorized member is waiting" in assignments


# --- Identify -----------------------------------------------------------------------


def test_identify_offers_only_the_populations_of_the_members_age_group(
    client, cast, newcomer
):
    child = _newcomer(cast, "Kid", birth_date=TODAY() - timedelta(days=365 * 9))
    client.force_login(cast.plan_admin)

    adult_page = client.get(reverse("ecm_identify", args=[newcomer.uuid]))
    child_page = client.get(reverse("ecm_identify", args=[child.uuid]))

    adult_options = re.findall(r'<option value="(\w+)"', adult_page.content.decode())
    child_options = re.findall(r'<option value="(\w+)"', child_page.content.decode())
    adult_codes = set(
        PopulationOfFocus.objects.filter(age_group="adult").values_list(
            "code", flat=True
        )
    )
    assert "adult_homeless_individual" in adult_options
    assert not {code for code in child_options if code in adult_codes}
    assert "child_birth_equity" in child_options
    assert "child_birth_equity" not in adult_options


def test_identify_a_child_with_an_adult_population_shows_the_error_and_writes_nothing(
    client, cast
):
    child = _newcomer(cast, "Kid", birth_date=TODAY() - timedelta(days=365 * 9))
    client.force_login(cast.plan_admin)

    response = client.post(
        reverse("ecm_identify", args=[child.uuid]),
        {
            "source": "plan_data",
            "population": "adult_homeless_individual",
            "urgency": "standard",
        },
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Episode.objects.filter(member=child).exists()


def test_identifying_a_member_with_an_open_episode_says_so_and_writes_nothing(
    client, cast
):
    client.force_login(cast.plan_admin)
    before = Episode.objects.count()

    page = client.get(reverse("ecm_identify", args=[cast.member.uuid]))
    response = client.post(
        reverse("ecm_identify", args=[cast.member.uuid]),
        {"source": "plan_data", "urgency": "standard"},
    )

    assert "already has an open ECM episode" in page.content.decode()
    assert 'name="source"' not in page.content.decode()  # no form to fill in
    assert response.status_code == 409
    html = response.content.decode()
    assert "The member already has an open ECM episode (enrolled since" in html
    assert Episode.objects.count() == before


def test_the_chart_offers_identification_only_without_an_open_episode(
    client, cast, newcomer
):
    client.force_login(cast.plan_admin)
    open_chart = client.get(reverse("member_chart", args=[cast.member.uuid]))
    new_chart = client.get(reverse("member_chart", args=[newcomer.uuid]))
    client.force_login(cast.auditor)  # sees the chart, may not identify
    auditor_chart = client.get(reverse("member_chart", args=[newcomer.uuid]))

    assert "Identify for ECM" not in open_chart.content.decode()
    assert "Identify for ECM" in new_chart.content.decode()
    assert "Identify for ECM" not in auditor_chart.content.decode()


def test_a_provider_referral_may_not_claim_plan_data(client, cast):
    """A supervisor who sees a member (here by an explicit grant) may refer them,
    but only the plan identifies from plan data."""
    from members.services.grants import member_access_grant

    member = _newcomer(cast)
    member_access_grant(
        member=member,
        user=cast.supervisor,
        kind="care_team",
        reason="Joint case conference this week.",
        expires_at=timezone.now() + timedelta(days=1),
        actor=cast.plan_admin,
    )
    client.force_login(cast.supervisor)

    page = client.get(reverse("ecm_identify", args=[member.uuid])).content.decode()
    response = client.post(
        reverse("ecm_identify", args=[member.uuid]),
        {"source": "community_referral", "urgency": "standard"},
    )

    assert 'value="plan_data"' not in page
    assert 'value="community_referral"' in page
    assert response.status_code == 302
    assert response["Location"] == reverse("member_chart", args=[member.uuid])
    assert Episode.objects.get(member=member).source == "community_referral"


# --- The authorization queue --------------------------------------------------------


def test_the_queue_sorts_by_time_left_and_flags_breaches(client, cast):
    standard = _identified(cast, _newcomer(cast, "Stan"))
    expedited = _identified(cast, _newcomer(cast, "Eddie"), urgency="expedited")
    late = _identified(cast, _newcomer(cast, "Lara"))
    Episode.objects.filter(pk=late.pk).update(
        authorization_due_at=timezone.now() - timedelta(hours=3, minutes=10)
    )
    Episode.objects.filter(pk=standard.pk).update(
        authorization_due_at=timezone.now() + timedelta(days=2, hours=5)
    )
    Episode.objects.filter(pk=expedited.pk).update(
        authorization_due_at=timezone.now() + timedelta(hours=20, minutes=30)
    )
    _authorized(cast)  # decided: not in the queue
    client.force_login(cast.plan_admin)

    html = client.get(reverse("ecm_authorization_queue")).content.decode()

    assert _rows(html, "authorization-queue") == [
        str(late.uuid),
        str(expedited.uuid),
        str(standard.uuid),
    ]
    late_row = _row(html, late)
    assert "Overdue by 3 h" in late_row
    assert "Breach" in late_row
    assert "text-danger" in late_row
    assert "Due in 20 h" in _row(html, expedited)
    assert "Due in 2 days" in _row(html, standard)
    assert "Breach" not in _row(html, standard)
    assert "1 past due" in html


def test_the_queue_shows_presumptive_authorizations_until_the_plan_decides(
    client, cast, contract
):
    contract.may_presumptively_authorize = True
    contract.save(update_fields=["may_presumptively_authorize"])
    episode = _identified(cast)
    episode_presumptively_authorize(episode=episode, actor=cast.provider_admin)
    client.force_login(cast.plan_admin)

    html = client.get(reverse("ecm_authorization_queue")).content.decode()
    only = client.get(reverse("ecm_authorization_queue"), {"status": "presumptive"})

    assert "Presumptive: Cast ECM Provider" in _row(html, episode)
    assert "Confirm" in _row(html, episode)
    assert _rows(only.content.decode(), "authorization-queue") == [str(episode.uuid)]


def test_the_queue_filters_by_urgency_and_status(client, cast):
    standard = _identified(cast, _newcomer(cast, "Stan"))
    expedited = _identified(cast, _newcomer(cast, "Eddie"), urgency="expedited")
    client.force_login(cast.plan_admin)
    url = reverse("ecm_authorization_queue")

    by_urgency = client.get(url, {"urgency": "expedited"}).content.decode()
    by_status = client.get(url, {"status": "identified"}).content.decode()
    nonsense = client.get(url, {"urgency": "whenever"}).content.decode()

    assert _rows(by_urgency, "authorization-queue") == [str(expedited.uuid)]
    assert "No episodes match the filter." in by_status
    assert set(_rows(nonsense, "authorization-queue")) == {
        str(standard.uuid),
        str(expedited.uuid),
    }


def test_the_queue_shows_only_the_users_plan(client, cast):
    mine = _identified(cast)
    client.force_login(cast.other_plan_admin)

    html = client.get(reverse("ecm_authorization_queue")).content.decode()

    assert str(mine.uuid) not in html
    assert "Nothing is waiting for a decision." in html


@pytest.mark.parametrize(
    "person", ["lead_care_manager", "supervisor", "provider_admin", "auditor"]
)
@pytest.mark.parametrize("queue", ["ecm_authorization_queue", "ecm_assignment_queue"])
def test_roles_without_the_permission_get_403_on_the_queues(
    client, cast, person, queue
):
    client.force_login(getattr(cast, person))

    assert client.get(reverse(queue)).status_code == 403


@pytest.mark.parametrize("rows", [2, 12])
def test_the_authorization_queue_query_count_does_not_grow_with_rows(
    client, cast, django_assert_num_queries, rows
):
    for number in range(rows):
        _identified(cast, _newcomer(cast, f"Queue{number}"))
    client.force_login(cast.plan_admin)
    client.get(reverse("home"))  # the session's first-request bookkeeping

    # session, user (with organization, roles and permissions), the rows, the
    # audit event (the session was saved by the request before)
    with django_assert_num_queries(4):
        response = client.get(reverse("ecm_authorization_queue"))

    assert len(_rows(response.content.decode(), "authorization-queue")) == rows


@pytest.mark.parametrize("rows", [2, 12])
def test_the_assignment_queue_query_count_does_not_grow_with_rows(
    client, cast, contract, django_assert_num_queries, rows
):
    for number in range(rows):
        _authorized(cast, _newcomer(cast, f"Assign{number}"))
    client.force_login(cast.plan_admin)
    client.get(reverse("home"))

    with django_assert_num_queries(4):
        response = client.get(reverse("ecm_assignment_queue"))

    assert len(_rows(response.content.decode(), "assignment-queue")) == rows


def test_the_queues_are_in_the_plan_admins_navigation(client, cast):
    client.force_login(cast.plan_admin)
    admin_home = client.get(reverse("home")).content.decode()
    client.force_login(cast.lead_care_manager)
    care_manager_home = client.get(reverse("home")).content.decode()

    for label, name in (
        ("ECM authorizations", "ecm_authorization_queue"),
        ("ECM assignments", "ecm_assignment_queue"),
    ):
        assert f'href="{reverse(name)}">{label}</a>' in admin_home
        assert label not in care_manager_home


# --- Decide -------------------------------------------------------------------------


def test_deny_with_a_short_reason_shows_the_error_and_writes_nothing(client, cast):
    episode = _identified(cast)
    before = _snapshot(episode)
    client.force_login(cast.plan_admin)

    response = client.post(
        reverse("ecm_deny", args=[episode.uuid]),
        {"version": episode.version, "reason": "No."},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_reason_error"' in html
    assert "Give the reason for the denial." in html
    assert "is-invalid" in html
    assert _snapshot(episode) == before


def test_deny_closes_the_episode_and_opens_the_notice_of_action(client, cast):
    episode = _identified(cast)
    client.force_login(cast.plan_admin)

    response = client.post(
        reverse("ecm_deny", args=[episode.uuid]),
        {
            "version": episode.version,
            "reason": "The member's needs are met by the plan's care coordination.",
        },
    )

    episode.refresh_from_db()
    assert episode.status == "denied"
    assert episode.closed_at is not None
    notice = Notice.objects.get(episode=episode, kind="denial")
    assert response.status_code == 302
    assert response["Location"] == reverse("ecm_notice", args=[notice.uuid])
    html = client.get(response["Location"]).content.decode()
    assert "care coordination" in html
    assert "Mark sent" in html


def test_authorize_shows_each_fields_error_and_writes_nothing(client, cast):
    episode = _identified(cast)
    before = _snapshot(episode)
    client.force_login(cast.plan_admin)

    response = client.post(
        reverse("ecm_authorize", args=[episode.uuid]),
        {
            "version": episode.version,
            "authorization_number": "",
            "authorized_from": "2025-06-01",
            "authorized_through": "2025-05-01",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_authorization_number_error"' in html
    assert 'id="id_authorized_through_error"' in html
    assert "The authorization ends before it starts." in html
    assert _snapshot(episode) == before


@pytest.mark.parametrize("page", ["ecm_authorize", "ecm_deny"])
def test_a_stale_version_gets_409_and_writes_nothing(client, cast, page):
    episode = _identified(cast)
    drawn_at = episode.version
    # Someone else changes the episode after the page was drawn.
    Episode.objects.filter(pk=episode.pk).update(version=drawn_at + 1)
    before = _snapshot(episode)
    client.force_login(cast.plan_admin)

    response = client.post(
        reverse(page, args=[episode.uuid]),
        {
            "version": drawn_at,
            "authorization_number": "A-1",
            "authorized_from": TODAY().isoformat(),
            "authorized_through": TODAY().isoformat(),
            "reason": "Not eligible for ECM at this time, per plan policy.",
        },
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "changed since you loaded it" in html
    assert "reload" in html
    assert _snapshot(episode) == before


def test_deciding_an_episode_already_decided_says_there_is_nothing_to_decide(
    client, cast, contract
):
    episode = _authorized(cast)
    client.force_login(cast.plan_admin)

    page = client.get(reverse("ecm_authorize", args=[episode.uuid]))

    assert page.status_code == 200
    assert "there is no authorization to decide" in page.content.decode()


# --- Assign -------------------------------------------------------------------------


def test_a_full_provider_is_shown_disabled_and_cannot_be_chosen(client, cast, contract):
    full = OrganizationFactory(name="Full House ECM", ecm=True)
    full_contract = ProviderContract.objects.create(
        plan=cast.plan,
        provider=full,
        service=ProviderContract.Service.ECM,
        start_date=date(2024, 1, 1),
        capacity=0,
    )
    full_contract.counties.add("37")
    elsewhere = ProviderContract.objects.create(
        plan=cast.plan,
        provider=cast.other_ecm_provider,
        service=ProviderContract.Service.ECM,
        start_date=date(2024, 1, 1),
    )
    elsewhere.counties.add("19")  # Los Angeles: not the member's county
    episode = _authorized(cast)
    client.force_login(cast.plan_admin)
    url = reverse("ecm_assign", args=[episode.uuid])

    html = client.get(url).content.decode()
    chosen = client.get(url, {"provider": full.uuid}).content.decode()

    # Listed, greyed out and not a link: it cannot be picked.
    assert f'aria-disabled="true" data-provider="{full.uuid}" data-full="true"' in html
    assert f'href="?provider={full.uuid}"' not in html
    assert "Cast Other ECM Provider" not in html
    assert "Full House ECM has no free places." in chosen
    assert 'id="care-managers"' not in chosen


def test_a_second_assignment_of_the_same_member_gets_409(client, cast, contract):
    episode = _authorized(cast)
    second_admin = UserFactory(
        email="second.admin@cast.example",
        full_name="Second Admin",
        organization=cast.plan,
        roles=[roles.PLAN_ADMIN],
    )
    url = reverse("ecm_assign", args=[episode.uuid])
    form = {
        "version": episode.version,
        "provider": cast.ecm_provider.uuid,
        "lead_care_manager": cast.colleague.uuid,
    }
    client.force_login(cast.plan_admin)
    assert client.post(url, form).status_code == 302
    episode.refresh_from_db()
    before = _snapshot(episode)

    client.force_login(second_admin)
    response = client.post(
        url, {**form, "lead_care_manager": cast.lead_care_manager.uuid}
    )

    assert response.status_code == 409
    assert "assigned a moment ago by someone else" in response.content.decode()
    assert _snapshot(episode) == before


def test_assigning_without_a_care_manager_shows_the_error(client, cast, contract):
    episode = _authorized(cast)
    before = _snapshot(episode)
    client.force_login(cast.plan_admin)

    response = client.post(
        reverse("ecm_assign", args=[episode.uuid]),
        {"version": episode.version, "provider": cast.ecm_provider.uuid},
    )

    assert response.status_code == 400
    assert "Choose a lead care manager." in response.content.decode()
    assert _snapshot(episode) == before


def test_the_care_manager_list_is_one_query(cast, contract, django_assert_num_queries):
    from care_plans.plan_views import care_managers_of

    _authorized(cast)
    with django_assert_num_queries(1):
        managers = list(care_managers_of(cast.ecm_provider))

    assert [(user.full_name, user.caseload) for user in managers] == [
        ("Colleague", 0),
        ("Lead Care Manager", 1),
    ]


# --- Access -------------------------------------------------------------------------


EPISODE_PAGES = ["ecm_authorize", "ecm_deny", "ecm_assign"]


@pytest.mark.parametrize("page", EPISODE_PAGES)
def test_another_plans_admin_gets_404_on_each_episode_page(client, cast, page):
    episode = _identified(cast)
    # Even one who sees the member, who was once enrolled with their plan.
    EnrollmentFactory(
        member=episode.member,
        plan=cast.other_plan,
        start_date=date(2023, 1, 1),
        end_date=date(2024, 12, 31),
    )
    client.force_login(cast.other_plan_admin)

    assert client.get(reverse(page, args=[episode.uuid])).status_code == 404
    assert client.post(reverse(page, args=[episode.uuid]), {}).status_code == 404


def test_an_unknown_episode_is_404(client, cast):
    import uuid

    client.force_login(cast.plan_admin)

    for page in EPISODE_PAGES:
        response = client.get(reverse(page, args=[uuid.UUID(int=5)]))
        assert response.status_code == 404


def test_only_the_plan_and_the_provider_mark_a_notice_sent(client, cast):
    from care_plans.services import notice_create

    notice = notice_create(
        episode=cast.episode, kind=Notice.Kind.ASSIGNMENT, actor=cast.plan_admin
    )
    url = reverse("ecm_notice_sent", args=[notice.uuid])

    client.force_login(cast.auditor)
    page = client.get(reverse("ecm_notice", args=[notice.uuid])).content.decode()
    refused = client.post(url, {"method": "mail"})
    client.force_login(cast.supervisor)
    done = client.post(url, {"method": "in_person"})
    again = client.post(url, {"method": "mail"})

    assert "Mark sent" not in page  # the auditor reads, does not send
    assert refused.status_code == 403
    assert done.status_code == 302
    assert again.status_code == 400
    assert "already recorded as sent" in again.content.decode()
    notice.refresh_from_db()
    assert notice.sent_method == "in_person"


# --- Words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "words", "overdue"),
    [
        (timedelta(days=2, hours=3), "Due in 2 days", False),
        (timedelta(hours=47, minutes=59), "Due in 47 h", False),
        (timedelta(minutes=25), "Due in 25 min", False),
        (timedelta(seconds=10), "Due in 1 min", False),
        (-timedelta(hours=3, minutes=40), "Overdue by 3 h", True),
        (-timedelta(days=4), "Overdue by 4 days", True),
    ],
)
def test_time_left_in_words(offset, words, overdue):
    now = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.get_current_timezone())

    assert time_left(now + offset, now) == (words, overdue)
    assert time_left(None, now) == ("No clock", False)
