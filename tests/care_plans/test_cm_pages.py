"""The care manager's ECM screens through HTTP: the caseload, the chart's ECM
panels, and every episode action (success, refusal, stale version, access)."""

import re
from datetime import date, timedelta

import pytest
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from calaim.web.panels import chart_panels
from calaim.work.kinds import register_task_kind
from calaim.work.services import task_create
from care_plans import cm_views, selectors
from care_plans.models import (
    Encounter,
    Episode,
    EpisodeEvent,
    OutreachAttempt,
)
from care_plans.services import outreach_record, outreach_rule_met
from members.models import MemberGrant, MemberPopulation, PopulationOfFocus
from tests.care_plans.cm_endpoints import assigned_episode, episode_past_outreach_rule
from tests.factories import EnrollmentFactory, EpisodeFactory, MemberFactory

FOLLOW_UP = "test.ecm_follow_up"
register_task_kind(FOLLOW_UP, label="Follow-up call", description="Test kind.")

TODAY = timezone.localdate


def _chart(member):
    return reverse("member_chart", args=[member.uuid])


def _post(client, user, name, episode, data):
    client.force_login(user)
    return client.post(reverse(name, args=[episode.uuid]), data)


def _episode_for(
    cast, first, last, *, lead=None, provider=None, status="enrolled", **fields
):
    """An open episode of the cast's provider for a new member (factory setup)."""
    member = MemberFactory(first_name=first, last_name=last)
    EnrollmentFactory(member=member, plan=cast.plan)
    return EpisodeFactory(
        member=member,
        plan=cast.plan,
        ecm_provider=provider or cast.ecm_provider,
        lead_care_manager=lead or cast.lead_care_manager,
        status=status,
        **fields,
    )


def _caseload_rows(response) -> list[str]:
    """The CINs of the caseload's rows, in order."""
    return re.findall(r'data-member="([^"]+)"', response.content.decode())


# --- The caseload -----------------------------------------------------------------


def test_care_manager_caseload_lists_only_the_members_they_lead(client, cast):
    other = _episode_for(cast, "Cora", "Colleagues", lead=cast.colleague)
    client.force_login(cast.lead_care_manager)

    response = client.get(reverse("ecm_caseload"))

    assert response.status_code == 200
    assert _caseload_rows(response) == [cast.member.cin]
    assert other.member.cin not in response.content.decode()
    assert "My caseload" in response.content.decode()


def test_supervisor_caseload_lists_the_organization_and_filters_by_lead(client, cast):
    other = _episode_for(cast, "Cora", "Colleagues", lead=cast.colleague)
    elsewhere = _episode_for(
        cast, "Elsewhere", "Person", lead=cast.other_care_manager,
        provider=cast.other_ecm_provider,
    )  # fmt: skip
    client.force_login(cast.supervisor)

    everyone = client.get(reverse("ecm_caseload"))
    colleague_only = client.get(reverse("ecm_caseload"), {"lead": cast.colleague.pk})

    assert set(_caseload_rows(everyone)) == {cast.member.cin, other.member.cin}
    assert elsewhere.member.cin not in everyone.content.decode()
    assert _caseload_rows(colleague_only) == [other.member.cin]
    assert "Lead care manager" in everyone.content.decode()


def test_caseload_puts_overdue_items_first_and_shows_the_next_due(client, cast):
    later = _episode_for(cast, "Aaron", "Aardvark")
    overdue = _episode_for(cast, "Zed", "Zulu")
    now = timezone.now()
    task_create(
        kind=FOLLOW_UP,
        due_at=now + timedelta(days=3),
        owner=cast.lead_care_manager,
        member_id=later.member_id,
        actor=cast.lead_care_manager,
    )
    task_create(
        kind=FOLLOW_UP,
        due_at=now - timedelta(days=2),
        owner=cast.lead_care_manager,
        member_id=overdue.member_id,
        actor=cast.lead_care_manager,
    )
    # A task of another organization's queue about the member is not ours.
    task_create(
        kind=FOLLOW_UP,
        due_at=now - timedelta(days=9),
        organization=cast.other_ecm_provider,
        member_id=later.member_id,
        actor=cast.lead_care_manager,
    )
    client.force_login(cast.lead_care_manager)

    response = client.get(reverse("ecm_caseload"))

    assert _caseload_rows(response) == [
        overdue.member.cin,
        later.member.cin,
        cast.member.cin,
    ]
    body = response.content.decode()
    assert body.count("Overdue</span>") == 1
    assert "Follow-up call" in body


def test_caseload_shows_last_contact_and_outreach_rule_state(client, cast):
    episode = assigned_episode(cast)
    outreach_record(
        episode=episode,
        attempted_at=timezone.now() - timedelta(hours=1),
        method="phone",
        outcome="no_answer",
        minutes=5,
        actor=cast.lead_care_manager,
    )
    client.force_login(cast.lead_care_manager)

    body = client.get(reverse("ecm_caseload")).content.decode()

    assert "Outreach: 1 of 3 attempts so far." in body
    assert timezone.localtime().strftime("%b %-d, %Y") in body


def test_caseload_filters_by_status_population_outreach_and_name(client, cast):
    in_outreach = assigned_episode(cast)
    population = PopulationOfFocus.objects.filter(age_group="adult").first()
    MemberPopulation.objects.create(
        member=cast.member, population=population, source="plan_data",
        start_date=date(2025, 1, 1),
    )  # fmt: skip
    client.force_login(cast.lead_care_manager)
    url = reverse("ecm_caseload")

    assert _caseload_rows(client.get(url, {"status": "enrolled"})) == [cast.member.cin]
    assert _caseload_rows(client.get(url, {"population": population.code})) == [
        cast.member.cin
    ]
    assert _caseload_rows(client.get(url, {"needs_outreach": "on"})) == [
        in_outreach.member.cin
    ]
    assert _caseload_rows(client.get(url, {"q": "outreach"})) == [
        in_outreach.member.cin
    ]
    assert _caseload_rows(client.get(url, {"q": cast.member.cin})) == [cast.member.cin]
    assert population.name in client.get(url).content.decode()


def test_caseload_pages_show_every_row_once_with_the_whole_total(
    client, cast, monkeypatch
):
    # The total comes from a window count over the page's own query.
    monkeypatch.setattr(cm_views, "CASELOAD_PAGE_SIZE", 2)
    for number in range(3):
        _episode_for(cast, f"Paged{number}", "Member")
    client.force_login(cast.lead_care_manager)
    url = reverse("ecm_caseload")

    first, second = (client.get(url, {"page": number}) for number in (1, 2))

    assert len(_caseload_rows(first)) == 2
    assert len(_caseload_rows(second)) == 2
    assert len(set(_caseload_rows(first) + _caseload_rows(second))) == 4
    for response, number in ((first, 1), (second, 2)):
        html = response.content.decode()
        assert "4 members." in html
        assert f"Page {number} of 2" in html
    # Page numbers Paginator.get_page corrects: past the end or below 1, the
    # last page; not a number, the first.
    for past in ("3", "0", "-1"):
        assert _caseload_rows(client.get(url, {"page": past})) == _caseload_rows(second)
    assert _caseload_rows(client.get(url, {"page": "x"})) == _caseload_rows(first)


def test_an_empty_caseload_shows_no_rows_and_no_pages(client, cast):
    cast.episode.lead_care_manager = cast.colleague
    cast.episode.save(update_fields=["lead_care_manager"])
    client.force_login(cast.lead_care_manager)

    response = client.get(reverse("ecm_caseload"), {"page": "2"})

    assert response.status_code == 200
    assert _caseload_rows(response) == []
    assert "0 members." in response.content.decode()


@pytest.mark.parametrize("rows", [2, 25])
def test_caseload_query_count_does_not_grow_with_rows(
    client, cast, rows, django_assert_num_queries
):
    population = PopulationOfFocus.objects.filter(age_group="adult").first()
    for number in range(rows):
        episode = _episode_for(cast, f"Row{number}", "Member")
        MemberPopulation.objects.create(
            member=episode.member, population=population, source="plan_data",
            start_date=date(2025, 1, 1),
        )  # fmt: skip
        task_create(
            kind=FOLLOW_UP,
            due_at=timezone.now() + timedelta(days=number - 5),
            owner=cast.lead_care_manager,
            member_id=episode.member_id,
            actor=cast.lead_care_manager,
        )
    client.force_login(cast.supervisor)
    client.get(reverse("ecm_caseload"))  # warm the session

    # Session, user (with organization, roles and permissions), care manager
    # menu, populations menu, rows (the total as a window count, the populations
    # as an array), audit insert: 6, whatever the number of rows.
    with django_assert_num_queries(6):
        response = client.get(reverse("ecm_caseload"))

    assert len(_caseload_rows(response)) == rows + 1


def test_caseload_is_refused_to_people_without_a_caseload(client, cast):
    client.force_login(cast.plan_admin)

    assert client.get(reverse("ecm_caseload")).status_code == 403


def test_nav_links_to_the_caseload_by_role(client, cast):
    client.force_login(cast.lead_care_manager)
    assert ">My caseload</a>" in client.get(reverse("home")).content.decode()
    client.force_login(cast.supervisor)
    assert ">Caseloads</a>" in client.get(reverse("home")).content.decode()
    client.force_login(cast.plan_admin)
    body = client.get(reverse("home")).content.decode()
    assert ">Caseloads</a>" not in body
    assert ">My caseload</a>" not in body


def test_outreach_rule_state_agrees_with_the_service(cast):
    episode = episode_past_outreach_rule(cast)
    fresh = _episode_for(cast, "Fresh", "Start", status="assigned")
    rows = {row.pk: row for row in selectors.caseload_rows(cast.lead_care_manager)}

    for candidate in (episode, fresh):
        assert selectors.outreach_rule_state(rows[candidate.pk]) == (
            outreach_rule_met(candidate)
        )
    assert selectors.outreach_rule_state(rows[episode.pk])[0] is True


# --- Chart panels -----------------------------------------------------------------


def _render_panel(rf, user, member, key):
    panel = {panel.key: panel for panel in chart_panels("chart")}[key]
    request = rf.get("/")
    request.user = user
    return get_template(panel.template).render(panel.context(request, member))


@pytest.mark.parametrize(
    ("key", "user", "queries"),
    [
        # episode, attempts (the outreach rule is checked on the same rows)
        ("ecm_outreach", "lead_care_manager", 2),
        # episode, encounters (this month's counts come from the same rows)
        ("ecm_encounters", "lead_care_manager", 2),
        # the timeline's built-in sources, in one query (care_plans/chart_views.py)
        ("ecm_timeline", "lead_care_manager", 1),
        ("ecm_notices", "plan_admin", 1),
        # episode, covering grants, two care manager menus (reassign, cover)
        ("ecm_episode", "supervisor", 4),
    ],
)
@pytest.mark.parametrize("rows", [1, 6])
def test_chart_panel_query_counts_are_pinned(
    rf, cast, key, user, queries, rows, django_assert_num_queries
):
    user = getattr(cast, user)
    user.get_all_permissions()  # the permission cache, as a request would have it
    episode = assigned_episode(cast) if key == "ecm_outreach" else cast.episode
    member = episode.member
    for number in range(rows):
        if key == "ecm_outreach":
            outreach_record(
                episode=episode,
                attempted_at=timezone.now() - timedelta(minutes=number + 1),
                method="phone",
                outcome="no_answer",
                minutes=5,
                actor=cast.lead_care_manager,
            )
        elif key == "ecm_encounters":
            Encounter.objects.create(
                episode=episode, occurred_on=TODAY(), mode="in_person", minutes=20,
                hcpcs_code="G9012", modifiers=["U2"], staff=cast.lead_care_manager,
            )  # fmt: skip
        elif key in ("ecm_timeline", "ecm_notices"):
            from care_plans.services import notice_create

            EpisodeEvent.objects.create(
                episode=episode, action="note", from_status="enrolled",
                to_status="enrolled", actor=cast.supervisor,
                occurred_at=timezone.now(),
            )  # fmt: skip
            notice_create(episode=episode, kind="assignment", actor=cast.plan_admin)

    with django_assert_num_queries(queries):
        _render_panel(rf, user, member, key)


def test_chart_shows_the_ecm_panels_with_their_forms(client, cast):
    episode = assigned_episode(cast)
    client.force_login(cast.lead_care_manager)

    body = client.get(_chart(episode.member)).content.decode()

    for title in ("Timeline", "Outreach", "Encounters", "Notices"):
        assert f">{title}</h2>" in body
    assert reverse("ecm_outreach", args=[episode.uuid]) in body
    assert reverse("ecm_enroll", args=[episode.uuid]) in body
    assert f"/ecm/notices/{episode.notices.get().uuid}/" in body
    assert "Assigned" in body
    assert "MATRIX-1" in body
    # The rule is not met, so closing as unable to reach is not offered.
    assert reverse("ecm_unable_to_reach", args=[episode.uuid]) not in body


def test_unable_to_reach_is_offered_once_the_outreach_rule_is_met(client, cast):
    episode = episode_past_outreach_rule(cast)
    client.force_login(cast.lead_care_manager)

    body = client.get(_chart(episode.member)).content.decode()

    assert reverse("ecm_unable_to_reach", args=[episode.uuid]) in body
    assert "Outreach rule met" in body


def test_plan_admin_sees_the_panels_without_provider_forms(client, cast):
    episode = assigned_episode(cast)
    client.force_login(cast.plan_admin)

    body = client.get(_chart(episode.member)).content.decode()

    assert ">Outreach</h2>" in body
    assert reverse("ecm_outreach", args=[episode.uuid]) not in body
    assert reverse("ecm_enroll", args=[episode.uuid]) not in body
    assert reverse("ecm_cover", args=[episode.uuid]) not in body


# --- Outreach ---------------------------------------------------------------------


def _outreach_data(**overrides):
    return {
        "attempted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "method": "phone",
        "outcome": "left_message",
        "minutes": "7",
        "note": "Voicemail",
        **overrides,
    }


def test_outreach_is_recorded_and_starts_outreach(client, cast):
    episode = assigned_episode(cast)

    response = _post(
        client, cast.lead_care_manager, "ecm_outreach", episode, _outreach_data()
    )

    assert response.status_code == 302
    assert response["Location"] == f"{_chart(episode.member)}#panel-ecm_outreach"
    attempt = OutreachAttempt.objects.get(episode=episode)
    assert (attempt.method, attempt.minutes, attempt.staff) == (
        "phone", 7, cast.lead_care_manager,
    )  # fmt: skip
    episode.refresh_from_db()
    assert episode.status == "outreach"


def test_outreach_in_the_future_is_refused_on_its_field(client, cast):
    episode = assigned_episode(cast)
    tomorrow = timezone.localtime() + timedelta(days=1)

    response = _post(
        client, cast.lead_care_manager, "ecm_outreach", episode,
        _outreach_data(attempted_at=tomorrow.strftime("%Y-%m-%dT%H:%M")),
    )  # fmt: skip

    assert response.status_code == 400
    assert "An attempt cannot be in the future." in response.content.decode()
    assert 'id="outreach_attempted_at_error"' in response.content.decode()
    assert not OutreachAttempt.objects.filter(episode=episode).exists()
    episode.refresh_from_db()
    assert episode.status == "assigned"


def test_outreach_after_the_episode_closed_is_refused(client, cast):
    """Outreach adds a row and carries no version; a form used after the episode
    moved on is refused by the status rule instead."""
    response = _post(
        client, cast.lead_care_manager, "ecm_outreach", cast.episode, _outreach_data()
    )

    assert response.status_code == 400
    assert "Cannot record outreach for an episode that is enrolled." in (
        response.content.decode()
    )
    assert not OutreachAttempt.objects.exists()


# --- Enroll, decline, unable to reach ---------------------------------------------


def test_enroll_records_consent(client, cast):
    episode = assigned_episode(cast)

    response = _post(
        client, cast.lead_care_manager, "ecm_enroll", episode,
        {"consented_on": TODAY().isoformat(), "consent_method": "written",
         "expected_version": episode.version},
    )  # fmt: skip

    assert response.status_code == 302
    episode.refresh_from_db()
    assert (episode.status, episode.enrolled_on, episode.consent_method) == (
        "enrolled", TODAY(), "written",
    )  # fmt: skip


def test_enroll_with_future_consent_writes_nothing(client, cast):
    episode = assigned_episode(cast)
    version = episode.version

    response = _post(
        client, cast.lead_care_manager, "ecm_enroll", episode,
        {"consented_on": (TODAY() + timedelta(days=2)).isoformat(),
         "consent_method": "verbal", "expected_version": version},
    )  # fmt: skip

    assert response.status_code == 400
    assert "Consent cannot be in the future." in response.content.decode()
    episode.refresh_from_db()
    assert (episode.status, episode.version) == ("assigned", version)


def test_enroll_with_a_stale_version_gets_409(client, cast):
    episode = assigned_episode(cast)

    response = _post(
        client, cast.lead_care_manager, "ecm_enroll", episode,
        {"consented_on": TODAY().isoformat(), "consent_method": "verbal",
         "expected_version": episode.version - 1},
    )  # fmt: skip

    assert response.status_code == 409
    body = response.content.decode()
    assert "This episode changed since you loaded it" in body
    assert "Nothing was saved" in body
    episode.refresh_from_db()
    assert episode.status == "assigned"


def test_enroll_without_a_version_is_refused(client, cast):
    episode = assigned_episode(cast)

    response = _post(
        client, cast.lead_care_manager, "ecm_enroll", episode,
        {"consented_on": TODAY().isoformat(), "consent_method": "verbal"},
    )  # fmt: skip

    assert response.status_code == 400
    assert "lacks the episode&#x27;s version" in response.content.decode()
    episode.refresh_from_db()
    assert episode.status == "assigned"


def test_decline_closes_the_episode_and_returns_to_the_caseload(client, cast):
    episode = assigned_episode(cast)

    response = _post(
        client, cast.lead_care_manager, "ecm_decline", episode,
        {"reason": "Has enough support", "expected_version": episode.version},
    )  # fmt: skip

    assert response.status_code == 302
    # The closed episode took the care manager's access with it.
    assert response["Location"] == reverse("ecm_caseload")
    episode.refresh_from_db()
    assert episode.status == "declined"
    assert episode.discontinuation_note == "Has enough support"


def test_decline_with_a_stale_version_gets_409(client, cast):
    episode = assigned_episode(cast)

    response = _post(
        client, cast.lead_care_manager, "ecm_decline", episode,
        {"reason": "", "expected_version": episode.version + 3},
    )  # fmt: skip

    assert response.status_code == 409
    episode.refresh_from_db()
    assert episode.is_open


def test_decline_of_an_enrolled_member_is_refused(client, cast):
    response = _post(
        client, cast.lead_care_manager, "ecm_decline", cast.episode,
        {"reason": "", "expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 400
    assert "Cannot record a decline for an episode that is enrolled." in (
        response.content.decode()
    )
    cast.episode.refresh_from_db()
    assert cast.episode.status == "enrolled"


def test_unable_to_reach_before_the_rule_is_met_is_refused(client, cast):
    episode = assigned_episode(cast)
    outreach_record(
        episode=episode, attempted_at=timezone.now(), method="phone",
        outcome="no_answer", minutes=5, actor=cast.lead_care_manager,
    )  # fmt: skip
    episode.refresh_from_db()

    response = _post(
        client, cast.lead_care_manager, "ecm_unable_to_reach", episode,
        {"expected_version": episode.version},
    )  # fmt: skip

    assert response.status_code == 400
    assert "Not yet: 1 of 3 attempts so far." in response.content.decode()
    episode.refresh_from_db()
    assert episode.status == "outreach"


def test_unable_to_reach_closes_the_episode_once_the_rule_is_met(client, cast):
    episode = episode_past_outreach_rule(cast)

    stale = _post(
        client, cast.lead_care_manager, "ecm_unable_to_reach", episode,
        {"expected_version": episode.version - 1},
    )  # fmt: skip
    response = _post(
        client, cast.lead_care_manager, "ecm_unable_to_reach", episode,
        {"expected_version": episode.version},
    )  # fmt: skip

    assert stale.status_code == 409
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.status == "unable_to_reach"


# --- Encounters -------------------------------------------------------------------


def test_encounter_is_recorded_with_its_code(client, cast):
    response = _post(
        client, cast.lead_care_manager, "ecm_encounter", cast.episode,
        {"occurred_on": TODAY().isoformat(), "mode": "video", "minutes": "25",
         "staff_type": "clinical"},
    )  # fmt: skip

    assert response.status_code == 302
    encounter = Encounter.objects.get(episode=cast.episode)
    assert (encounter.hcpcs_code, encounter.modifiers) == ("G9008", ["U1", "GQ"])
    client.force_login(cast.lead_care_manager)
    body = client.get(_chart(cast.member)).content.decode()
    assert "G9008-U1-GQ" in body
    assert re.search(r">0</span> <span[^>]*>in person<", body)
    assert re.search(r">1</span> <span[^>]*>telephonic or video<", body)


def test_encounter_before_enrollment_is_refused_on_its_field(client, cast):
    response = _post(
        client, cast.lead_care_manager, "ecm_encounter", cast.episode,
        {"occurred_on": (TODAY() - timedelta(days=3)).isoformat(),
         "mode": "in_person", "minutes": "25", "staff_type": "non_clinical"},
    )  # fmt: skip

    assert response.status_code == 400
    assert 'id="encounter_occurred_on_error"' in response.content.decode()
    assert not Encounter.objects.exists()


# --- Discontinue, reassign, cover -------------------------------------------------


def test_supervisor_discontinues_with_a_coded_reason(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_discontinue", cast.episode,
        {"reason": "lower_level", "on": TODAY().isoformat(),
         "expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 302
    cast.episode.refresh_from_db()
    assert cast.episode.status == "discontinued"
    assert cast.episode.dhcs_discontinuation_code == "2"


def test_discontinue_for_other_without_a_note_writes_nothing(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_discontinue", cast.episode,
        {"reason": "other", "note": "", "expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 400
    assert "Say why when the reason is" in response.content.decode()
    assert 'id="discontinue_note_error"' in response.content.decode()
    cast.episode.refresh_from_db()
    assert cast.episode.status == "enrolled"


def test_discontinue_with_a_stale_version_gets_409(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_discontinue", cast.episode,
        {"reason": "goals_met", "expected_version": cast.episode.version + 1},
    )  # fmt: skip

    assert response.status_code == 409
    cast.episode.refresh_from_db()
    assert cast.episode.status == "enrolled"


def test_reassign_moves_access_to_the_new_lead(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_reassign", cast.episode,
        {"lead_care_manager": cast.colleague.pk,
         "expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 302
    client.force_login(cast.lead_care_manager)
    assert client.get(_chart(cast.member)).status_code == 404
    assert _caseload_rows(client.get(reverse("ecm_caseload"))) == []
    client.force_login(cast.colleague)
    assert client.get(_chart(cast.member)).status_code == 200


def test_reassign_to_another_providers_care_manager_is_refused(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_reassign", cast.episode,
        {"lead_care_manager": cast.other_care_manager.pk,
         "expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 400
    assert 'id="reassign_lead_care_manager_error"' in response.content.decode()
    cast.episode.refresh_from_db()
    assert cast.episode.lead_care_manager == cast.lead_care_manager


def test_reassign_with_a_stale_version_gets_409(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_reassign", cast.episode,
        {"lead_care_manager": cast.colleague.pk,
         "expected_version": cast.episode.version + 1},
    )  # fmt: skip

    assert response.status_code == 409
    cast.episode.refresh_from_db()
    assert cast.episode.lead_care_manager == cast.lead_care_manager


def test_covering_grant_gives_access_until_it_expires(client, cast):
    client.force_login(cast.colleague)
    assert client.get(_chart(cast.member)).status_code == 404

    response = _post(
        client, cast.supervisor, "ecm_cover", cast.episode,
        {"care_manager": cast.colleague.pk, "until": TODAY().isoformat(),
         "reason": "Lead care manager on leave"},
    )  # fmt: skip

    assert response.status_code == 302
    grant = MemberGrant.objects.get(user=cast.colleague, kind="covering")
    assert timezone.localtime(grant.expires_at).date() == TODAY() + timedelta(days=1)
    client.force_login(cast.supervisor)
    assert "Colleague, through" in client.get(_chart(cast.member)).content.decode()
    client.force_login(cast.colleague)
    assert client.get(_chart(cast.member)).status_code == 200
    # The clock passes the end of the covered period.
    MemberGrant.objects.filter(pk=grant.pk).update(
        granted_at=timezone.now() - timedelta(days=2),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert client.get(_chart(cast.member)).status_code == 404


def test_covering_grant_without_a_reason_writes_nothing(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_cover", cast.episode,
        {"care_manager": cast.colleague.pk, "until": TODAY().isoformat(),
         "reason": "leave"},
    )  # fmt: skip

    assert response.status_code == 400
    assert 'id="cover_reason_error"' in response.content.decode()
    assert not MemberGrant.objects.exists()


def test_covering_grant_longer_than_90_days_is_refused_on_until(client, cast):
    response = _post(
        client, cast.supervisor, "ecm_cover", cast.episode,
        {"care_manager": cast.colleague.pk,
         "until": (TODAY() + timedelta(days=120)).isoformat(),
         "reason": "Lead care manager on leave"},
    )  # fmt: skip

    assert response.status_code == 400
    assert 'id="cover_until_error"' in response.content.decode()
    assert not MemberGrant.objects.exists()


# --- Who may -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ecm_enroll", {"consented_on": "2025-06-01", "consent_method": "verbal"}),
        ("ecm_encounter", {"occurred_on": "2025-06-01", "mode": "in_person"}),
        ("ecm_discontinue", {"reason": "goals_met"}),
        ("ecm_cover", {"reason": "Lead care manager on leave"}),
    ],
)
def test_another_providers_care_manager_gets_404(client, cast, name, data):
    response = _post(
        client, cast.other_care_manager, name, cast.episode,
        {**data, "expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 404
    cast.episode.refresh_from_db()
    assert cast.episode.version == 1


@pytest.mark.parametrize(
    "name", ["ecm_outreach", "ecm_enroll", "ecm_decline", "ecm_encounter", "ecm_cover"]
)
def test_plan_admin_gets_403_on_provider_actions(client, cast, name):
    response = _post(
        client, cast.plan_admin, name, cast.episode,
        {"expected_version": cast.episode.version},
    )  # fmt: skip

    assert response.status_code == 403
    cast.episode.refresh_from_db()
    assert cast.episode.version == 1
    assert not MemberGrant.objects.exists()
    assert not Encounter.objects.exists()


def test_missing_episode_gets_404(client, cast):
    client.force_login(cast.lead_care_manager)

    response = client.post(
        reverse("ecm_enroll", args=["00000000-0000-0000-0000-000000000001"]), {}
    )

    assert response.status_code == 404
    assert Episode.objects.count() == 1
