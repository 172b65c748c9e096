"""The ECM provider API over HTTP with real OAuth2 tokens: scoping, the actions,
versions, the RTF projection, query counts and the OpenAPI document."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calaim.accounts import roles
from calaim.accounts.models import PlanCode
from calaim.accounts.services import service_account_create
from calaim.audit.models import AuditEvent
from care_plans.models import (
    Encounter,
    Episode,
    EpisodeEvent,
    OutreachAttempt,
)
from members.models import MemberPopulation
from tests import matrix
from tests.api_auth import api_client_for, authenticate_api_client, issue_token
from tests.care_plans.api_endpoints import episode_in
from tests.factories import EnrollmentFactory, EpisodeFactory, MemberFactory

JSON = "application/json"
TODAY = timezone.localdate


def _as(client, user):
    return authenticate_api_client(client, user)


def _post(client, name, episode, body, **headers):
    return client.post(
        reverse(name, args=[episode.uuid]), body, content_type=JSON, **headers
    )


def _errors(response):
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


def _ids(response):
    return {row["id"] for row in response.json()["results"]}


def _outreach_body(**changes):
    body = {
        "outreach_date": (timezone.now() - timedelta(hours=2)).isoformat(),
        "outreach_method": "phone",
        "outreach_successful": False,
        "outcome": "left_message",
        "outreach_minutes": 10,
        "note": "Voicemail.",
    }
    return {**body, **changes}


@pytest.fixture
def other_provider_api(cast):
    """Another ECM provider's system, with every provider scope."""
    return service_account_create(
        organization=cast.other_ecm_provider,
        role_name=roles.PROVIDER_API,
        name="Other provider API",
    )


# --- Reads and scoping ------------------------------------------------------------


def test_the_providers_system_lists_only_its_organizations_open_episodes(cast, client):
    elsewhere = MemberFactory()
    EnrollmentFactory(member=elsewhere, plan=cast.plan)
    EpisodeFactory(
        member=elsewhere, plan=cast.plan, ecm_provider=cast.other_ecm_provider
    )
    closed = episode_in(cast, "enrolled")
    Episode.objects.filter(pk=closed.pk).update(
        status="discontinued", closed_at=timezone.now()
    )
    assigned = episode_in(cast, "assigned")

    response = _as(client, cast.provider_api).get(reverse("api_episode_list"))

    assert response.status_code == 200
    assert _ids(response) == {str(cast.episode.uuid), str(assigned.uuid)}


def test_the_provider_does_not_list_its_earlier_closed_episode_of_a_member(
    cast, client
):
    earlier = EpisodeFactory(
        member=cast.member,
        plan=cast.plan,
        ecm_provider=cast.ecm_provider,
        status="unable_to_reach",
        closed_at=timezone.now() - timedelta(days=400),
    )
    api = _as(client, cast.provider_api)

    listed = api.get(reverse("api_episode_list"))
    detail = api.get(reverse("api_episode_detail", args=[earlier.uuid]))

    assert _ids(listed) == {str(cast.episode.uuid)}
    assert detail.status_code == 404


def test_the_plan_admin_lists_the_plans_episodes_open_and_closed(cast, client):
    closed = episode_in(cast, "enrolled")
    Episode.objects.filter(pk=closed.pk).update(
        status="discontinued", closed_at=timezone.now()
    )
    other = EpisodeFactory(member=cast.other_member, plan=cast.other_plan)

    response = _as(client, cast.plan_admin).get(reverse("api_episode_list"))

    assert _ids(response) == {str(cast.episode.uuid), str(closed.uuid)}
    assert str(other.uuid) not in _ids(response)


def test_a_colleague_without_responsibility_lists_nothing(cast, client):
    response = _as(client, cast.colleague).get(reverse("api_episode_list"))
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_hospital_feed_gets_403_on_the_list(cast, client):
    response = _as(client, cast.hospital_feed).get(reverse("api_episode_list"))
    assert response.status_code == 403
    assert _errors(response) == [(None, "insufficient_scope")]


def test_status_filter_and_a_bad_status(cast, client):
    assigned = episode_in(cast, "assigned")
    api = _as(client, cast.provider_api)

    only_assigned = api.get(reverse("api_episode_list"), {"status": "assigned"})
    both = api.get(reverse("api_episode_list"), {"status": "assigned,enrolled"})
    bad = api.get(reverse("api_episode_list"), {"status": "lost"})

    assert _ids(only_assigned) == {str(assigned.uuid)}
    assert len(_ids(both)) == 2
    assert bad.status_code == 400
    assert _errors(bad) == [("status", "invalid")]


def test_updated_since_catches_a_new_encounter_on_an_old_episode(cast, client):
    long_ago = timezone.now() - timedelta(days=30)
    Episode.objects.filter(pk=cast.episode.pk).update(updated_at=long_ago)
    type(cast.member).objects.filter(pk=cast.member.pk).update(updated_at=long_ago)
    since = {"updated_since": (timezone.now() - timedelta(days=1)).isoformat()}
    api = _as(client, cast.provider_api)

    assert api.get(reverse("api_episode_list"), since).json()["results"] == []

    _post(
        api,
        "api_episode_encounters",
        cast.episode,
        {"encounter_date": TODAY().isoformat(), "mode": "video", "minutes": 20},
    )
    assert _ids(api.get(reverse("api_episode_list"), since)) == {str(cast.episode.uuid)}


def test_the_list_is_audited_with_the_member_ids_of_the_page(cast, client):
    assigned = episode_in(cast, "assigned")
    _as(client, cast.provider_api).get(reverse("api_episode_list"))
    event = AuditEvent.objects.get(object_type="ecm_episode_list")
    assert event.action == "view"
    assert event.actor_id == cast.provider_api.pk
    assert sorted(event.member_ids) == sorted([cast.member.pk, assigned.member_id])


def test_the_detail_is_audited_and_carries_an_etag(cast, client):
    response = _as(client, cast.provider_api).get(
        reverse("api_episode_detail", args=[cast.episode.uuid])
    )
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    event = AuditEvent.objects.get(object_type="ecm_episode")
    assert event.member_ids == [cast.member.pk]


def _seed_provider_episodes(cast, count):
    for _ in range(count):
        episode = episode_in(cast, "enrolled")
        MemberPopulation.objects.create(
            member=episode.member,
            population_id="adult_homeless_individual",
            source=MemberPopulation.Source.PLAN_DATA,
            start_date=date(2025, 1, 1),
        )
        for mode in ("in_person", "telephonic"):
            Encounter.objects.create(
                episode=episode,
                occurred_on=TODAY(),
                mode=mode,
                minutes=30,
                hcpcs_code="G9012",
                modifiers=["U2"] if mode == "in_person" else ["U2", "GQ"],
                staff=cast.lead_care_manager,
            )


def test_the_list_query_count_is_pinned_and_does_not_grow(
    cast, client, django_assert_num_queries
):
    api = _as(client, cast.provider_api)
    _seed_provider_episodes(cast, 3)
    # The token (with its client and user), the user's roles, the page with
    # every RTF field, the audit event.
    with django_assert_num_queries(4):
        small = api.get(reverse("api_episode_list"))
    _seed_provider_episodes(cast, 30)
    with django_assert_num_queries(4):
        large = api.get(reverse("api_episode_list"))
    assert len(small.json()["results"]) == 4
    assert len(large.json()["results"]) == 34
    assert {row["in_person_encounter_count"] for row in large.json()["results"]} == {
        0,
        1,
    }


def test_the_detail_query_count_is_pinned(cast, client, django_assert_num_queries):
    api = _as(client, cast.provider_api)
    url = reverse("api_episode_detail", args=[cast.episode.uuid])
    # The token, the roles, the episode with every RTF field, the audit event.
    with django_assert_num_queries(4):
        assert api.get(url).status_code == 200


# --- Another provider, missing scopes ----------------------------------------------


def test_another_providers_system_gets_404_everywhere_and_writes_nothing(
    cast, client, other_provider_api
):
    assigned = episode_in(cast, "assigned")
    api = _as(client, other_provider_api)
    before = matrix.database_fingerprint()

    calls = [
        api.get(reverse("api_episode_detail", args=[cast.episode.uuid])),
        api.get(reverse("api_episode_encounters", args=[cast.episode.uuid])),
        _post(api, "api_episode_outreach", assigned, _outreach_body()),
        _post(
            api,
            "api_episode_enroll",
            assigned,
            {
                "version": 1,
                "consent_date": TODAY().isoformat(),
                "consent_method": "verbal",
            },
        ),  # fmt: skip
        _post(api, "api_episode_decline", assigned, {"version": 1}),
        _post(api, "api_episode_unable_to_reach", assigned, {"version": 1}),
        _post(
            api,
            "api_episode_discontinue",
            cast.episode,
            {"version": 1, "discontinuation_reason": "goals_met"},
        ),
        _post(
            api,
            "api_episode_encounters",
            cast.episode,
            {"encounter_date": TODAY().isoformat(), "mode": "video", "minutes": 5},
        ),
    ]

    assert [call.status_code for call in calls] == [404] * len(calls)
    assert all(_errors(call) == [(None, "not_found")] for call in calls)
    assert matrix.database_fingerprint() == before
    listed = api.get(reverse("api_episode_list"))
    assert listed.json()["results"] == []


def test_a_token_without_ecm_write_gets_403_on_posts_and_writes_nothing(cast, client):
    assigned = episode_in(cast, "assigned")
    token = issue_token(api_client_for(cast.provider_api), scopes=["members:read"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    outreach = _post(client, "api_episode_outreach", assigned, _outreach_body())
    enroll = _post(
        client,
        "api_episode_enroll",
        assigned,
        {"version": 1, "consent_date": TODAY().isoformat(), "consent_method": "verbal"},
    )

    assert outreach.status_code == enroll.status_code == 403
    assert _errors(outreach) == [(None, "insufficient_scope")]
    assert not OutreachAttempt.objects.filter(episode=assigned).exists()
    assigned.refresh_from_db()
    assert (assigned.status, assigned.version) == ("assigned", 1)
    assert client.get(reverse("api_episode_list")).status_code == 200


# --- Outreach -----------------------------------------------------------------------


def test_outreach_creates_the_attempt_and_moves_the_episode_into_outreach(cast, client):
    assigned = episode_in(cast, "assigned")

    response = _post(
        _as(client, cast.provider_api),
        "api_episode_outreach",
        assigned,
        _outreach_body(outreach_method="in_person", outcome="not_found"),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    attempt = OutreachAttempt.objects.get(episode=assigned)
    assert body["id"] == str(attempt.uuid)
    assert (attempt.method, attempt.outcome, attempt.minutes) == (
        "in_person",
        "not_found",
        10,
    )
    assert attempt.staff == cast.provider_api
    assert body["otf_outreach_method"] == "In-Person"
    assert body["outreach_successful"] is False
    assert (body["episode_status"], body["episode_version"]) == ("outreach", 2)
    assigned.refresh_from_db()
    assert (assigned.status, assigned.version) == ("outreach", 2)


def test_outreach_successful_alone_decides_the_outcome(cast, client):
    assigned = episode_in(cast, "assigned")
    body = _outreach_body(outreach_successful=True)
    del body["outcome"]

    response = _post(
        _as(client, cast.provider_api), "api_episode_outreach", assigned, body
    )

    assert response.status_code == 201
    assert response.json()["outcome"] == "reached"
    assert response.json()["outreach_successful"] is True


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # The service's rules, under this API's field names.
        (
            {"outreach_date": (timezone.now() + timedelta(days=2)).isoformat()},
            ("outreach_date", "invalid"),
        ),
        ({"outreach_minutes": 900}, ("outreach_minutes", "invalid")),
        # The input serializer's.
        ({"outreach_method": "pigeon"}, ("outreach_method", "invalid_choice")),
        (
            {"outreach_successful": True, "outcome": "no_answer"},
            ("outcome", "inconsistent"),
        ),
        (
            {"outreach_successful": None, "outcome": None},
            ("outreach_successful", "required"),
        ),
    ],
)
def test_a_bad_outreach_attempt_is_400_on_the_api_field_and_writes_nothing(
    cast, client, changes, expected
):
    assigned = episode_in(cast, "assigned")
    body = {
        key: value
        for key, value in _outreach_body(**changes).items()
        if value is not None
    }

    response = _post(
        _as(client, cast.provider_api), "api_episode_outreach", assigned, body
    )

    assert response.status_code == 400
    assert _errors(response) == [expected]
    assert not OutreachAttempt.objects.filter(episode=assigned).exists()


def test_outreach_on_an_enrolled_episode_is_400_on_status(cast, client):
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_outreach",
        cast.episode,
        _outreach_body(),
    )
    assert response.status_code == 400
    # The service's own code is lost in its dict-form ValidationError.
    assert [error["field"] for error in response.json()["errors"]] == ["status"]


# --- Versions -----------------------------------------------------------------------


def _enroll_body(**changes):
    return {
        "consent_date": TODAY().isoformat(),
        "consent_method": "written",
        **changes,
    }


def test_enroll_with_a_stale_version_is_409_and_changes_nothing(cast, client):
    episode = episode_in(cast, "outreach")
    Episode.objects.filter(pk=episode.pk).update(version=3)

    response = _post(
        _as(client, cast.provider_api),
        "api_episode_enroll",
        episode,
        _enroll_body(version=2),
    )

    assert response.status_code == 409
    assert _errors(response) == [(None, "stale_version")]
    episode.refresh_from_db()
    assert (episode.status, episode.version) == ("outreach", 3)
    assert not EpisodeEvent.objects.filter(episode=episode).exists()


def test_enroll_with_if_match_and_the_answer_is_the_updated_episode(cast, client):
    episode = episode_in(cast, "outreach")

    response = _post(
        _as(client, cast.provider_api),
        "api_episode_enroll",
        episode,
        _enroll_body(),
        HTTP_IF_MATCH='"1"',
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["version"], body["ecm_status"]) == (
        "enrolled",
        2,
        "Enrolled",
    )
    assert body["ecm_enrollment_start_date"] == TODAY().isoformat()
    assert response["ETag"] == '"2"'
    episode.refresh_from_db()
    assert (episode.status, episode.consent_method) == ("enrolled", "written")


def test_a_stale_if_match_is_409(cast, client):
    episode = episode_in(cast, "outreach")
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_enroll",
        episode,
        _enroll_body(),
        HTTP_IF_MATCH='W/"7"',
    )
    assert response.status_code == 409
    assert _errors(response) == [(None, "stale_version")]


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({}, {}, ("version", "required")),
        ({"version": 1}, {"HTTP_IF_MATCH": '"2"'}, ("version", "mismatch")),
        ({}, {"HTTP_IF_MATCH": "*"}, ("If-Match", "invalid")),
    ],
)
def test_an_action_needs_one_clear_version(cast, client, body, headers, expected):
    episode = episode_in(cast, "outreach")
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_enroll",
        episode,
        _enroll_body(**body),
        **headers,
    )
    assert response.status_code == 400
    assert _errors(response) == [expected]
    episode.refresh_from_db()
    assert episode.status == "outreach"


def test_consent_in_the_future_is_400_on_consent_date(cast, client):
    episode = episode_in(cast, "outreach")
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_enroll",
        episode,
        _enroll_body(version=1, consent_date=str(TODAY() + timedelta(days=3))),
    )
    assert response.status_code == 400
    assert _errors(response) == [("consent_date", "invalid")]


# --- The other actions ----------------------------------------------------------------


def test_decline_closes_the_episode_with_the_dhcs_code(cast, client):
    episode = episode_in(cast, "outreach")
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_decline",
        episode,
        {"version": 1, "reason": "Has a care manager already."},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["ecm_status"]) == ("declined", "Declined")
    assert body["discontinuation_reason_code"] == "3"
    assert body["ecm_enrollment_end_date"] is None  # never enrolled
    assert body["discontinuation_date"] == TODAY().isoformat()


def test_unable_to_reach_before_the_outreach_rule_is_met_is_400(cast, client):
    episode = episode_in(cast, "outreach", attempts=[(3, "phone"), (1, "mail")])
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_unable_to_reach",
        episode,
        {"version": 1},
    )
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["outreach"]
    episode.refresh_from_db()
    assert episode.status == "outreach"


def test_unable_to_reach_once_the_rule_is_met(cast, client):
    episode = episode_in(
        cast, "outreach", attempts=[(35, "phone"), (20, "in_person"), (1, "phone")]
    )
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_unable_to_reach",
        episode,
        {"version": 1},
    )
    assert response.status_code == 200
    assert response.json()["ecm_status"] == "Unable to Reach"
    assert response.json()["discontinuation_reason_code"] == "4"


def test_discontinue_other_without_a_note_is_400_on_note(cast, client):
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_discontinue",
        cast.episode,
        {"version": 1, "discontinuation_reason": "other"},
    )
    assert response.status_code == 400
    assert _errors(response) == [("note", "invalid")]


def test_discontinue_before_enrollment_is_400_on_discontinuation_date(cast, client):
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_discontinue",
        cast.episode,
        {
            "version": 1,
            "discontinuation_reason": "goals_met",
            "discontinuation_date": str(TODAY() - timedelta(days=10)),
        },
    )
    assert response.status_code == 400
    assert _errors(response) == [("discontinuation_date", "invalid")]


# --- Encounters ---------------------------------------------------------------------


def test_an_encounter_is_recorded_with_its_derived_code_and_listed(cast, client):
    api = _as(client, cast.provider_api)

    created = _post(
        api,
        "api_episode_encounters",
        cast.episode,
        {"encounter_date": TODAY().isoformat(), "mode": "video", "minutes": 25,
         "clinical": True},
    )  # fmt: skip
    listed = api.get(reverse("api_episode_encounters", args=[cast.episode.uuid]))

    assert created.status_code == 201, created.json()
    assert (created.json()["hcpcs_code"], created.json()["modifiers"]) == (
        "G9008",
        ["U1", "GQ"],
    )
    encounter = Encounter.objects.get(episode=cast.episode)
    assert encounter.staff == cast.provider_api
    assert [row["id"] for row in listed.json()["results"]] == [str(encounter.uuid)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"encounter_date": "2099-01-01"}, ("encounter_date", "invalid")),
        ({"hcpcs_code": "G9008", "modifiers": ["U8"]}, ("hcpcs_code", "invalid")),
        ({"mode": "carrier_pigeon"}, ("mode", "invalid_choice")),
    ],
)
def test_a_bad_encounter_is_400_and_writes_nothing(cast, client, changes, expected):
    body = {"encounter_date": TODAY().isoformat(), "mode": "in_person", "minutes": 30}
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_encounters",
        cast.episode,
        {**body, **changes},
    )
    assert response.status_code == 400
    assert _errors(response) == [expected]
    assert not Encounter.objects.filter(episode=cast.episode).exists()


# --- The RTF projection -----------------------------------------------------------


@pytest.fixture
def rtf_ready(cast):
    """The cast's episode with everything the RTF reads filled in."""
    provider = cast.ecm_provider
    provider.phone = "6195550199"
    provider.save(update_fields=["phone"])
    lead = cast.lead_care_manager
    lead.phone = "6195550111"
    lead.save(update_fields=["phone"])
    PlanCode.objects.create(plan=cast.plan, county_id="37", code="62")
    episode = cast.episode
    episode.enrolled_on = TODAY() - timedelta(days=20)
    episode.population_id = "adult_homeless_individual"
    episode.save(update_fields=["enrolled_on", "population"])
    MemberPopulation.objects.create(
        member=cast.member,
        population_id="adult_homeless_individual",
        source=MemberPopulation.Source.PLAN_DATA,
        start_date=date(2025, 1, 1),
    )
    for days_ago, mode in [(10, "in_person"), (5, "in_person"), (3, "telephonic"),
                           (2, "video")]:  # fmt: skip
        Encounter.objects.create(
            episode=episode,
            occurred_on=TODAY() - timedelta(days=days_ago),
            mode=mode,
            minutes=30,
            hcpcs_code="G9012",
            modifiers=["U2"] if mode == "in_person" else ["U2", "GQ"],
            staff=lead,
        )
    return episode


def test_the_rtf_projection_of_an_enrolled_episode(cast, client, rtf_ready):
    response = _as(client, cast.provider_api).get(
        reverse("api_episode_detail", args=[rtf_ready.uuid])
    )
    row = response.json()
    member, provider = cast.member, cast.ecm_provider
    assert row == {
        **row,
        "id": str(rtf_ready.uuid),
        "version": 1,
        "status": "enrolled",
        "member_id": str(member.uuid),
        "primary_payer_id": "62",
        "mcp_name": cast.plan.name,
        "cin": member.cin,
        "last_name": "Castmember",
        "first_name": "Casey",
        "birth_date": member.birth_date.isoformat(),
        "pof": "adult_homeless_individual",
        "populations_of_focus": ["adult_homeless_individual"],
        "ecm_status": "Enrolled",
        "ecm_enrollment_start_date": str(TODAY() - timedelta(days=20)),
        "ecm_enrollment_end_date": None,
        "most_recent_encounter_date": str(TODAY() - timedelta(days=2)),
        "in_person_encounter_count": 2,
        "telephonic_video_encounter_count": 2,
        "lead_care_manager_name": "Lead Care Manager",
        "lead_care_manager_phone": "6195550111",
        "lead_care_manager_email": "lead.care.manager@cast.example",
        "discontinuation_date": None,
        "discontinuation_reason_code": None,
        "discontinuation_reason": None,
        "ecm_provider_name": "Cast ECM Provider",
        "ecm_provider_npi": provider.npi,
        "ecm_provider_tin": provider.tin,
        "ecm_provider_phone": "6195550199",
    }


def test_the_rtf_projection_of_a_discontinued_episode(cast, client, rtf_ready):
    on = TODAY() - timedelta(days=1)
    response = _post(
        _as(client, cast.provider_api),
        "api_episode_discontinue",
        rtf_ready,
        {"version": 1, "discontinuation_reason": "lower_level",
         "note": "Stable housing, PCP engaged.", "discontinuation_date": str(on)},
    )  # fmt: skip

    assert response.status_code == 200, response.json()
    row = response.json()
    assert row["status"] == "discontinued"
    assert row["version"] == 2
    assert row["ecm_status"] == "Discontinued"
    assert row["ecm_enrollment_start_date"] == str(TODAY() - timedelta(days=20))
    assert row["ecm_enrollment_end_date"] == str(on)
    assert row["discontinuation_date"] == str(on)
    assert row["discontinuation_reason_code"] == "2"
    assert row["discontinuation_reason"] == "Ready for a lower level of care"
    assert row["discontinuation_note"] == "Stable housing, PCP engaged."
    assert row["in_person_encounter_count"] == 2
    # Closed: it leaves the provider's list; the plan still sees it, the same.
    api_list = client.get(reverse("api_episode_list"))
    assert api_list.json()["results"] == []
    client.defaults.pop("HTTP_AUTHORIZATION")
    plan_view = _as(client, cast.plan_admin).get(
        reverse("api_episode_detail", args=[rtf_ready.uuid])
    )
    assert plan_view.json() == row


# --- OpenAPI --------------------------------------------------------------------------


def test_the_schema_documents_every_episode_endpoint_with_examples(cast, client):
    token = issue_token(api_client_for(cast.provider_api))
    response = client.get(reverse("api_schema"), HTTP_AUTHORIZATION=f"Bearer {token}")
    paths = response.json()["paths"]
    base = "/api/v1/episodes/"
    posts = {
        "outreach": "ecm:write",
        "enroll": "ecm:write",
        "decline": "ecm:write",
        "unable-to-reach": "ecm:write",
        "discontinue": "ecm:write",
        "encounters": "ecm:write",
    }

    assert paths[base]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"
    ]
    detail = paths[base + "{episode_id}"]["get"]
    assert {"Enrolled", "Discontinued"} <= set(
        detail["responses"]["200"]["content"]["application/json"]["examples"]
    )
    for action, scope in posts.items():
        operation = paths[f"{base}{{episode_id}}/{action}"]["post"]
        assert operation["summary"]
        assert operation["requestBody"]["content"][JSON]["examples"], action
        success = "201" if action in ("outreach", "encounters") else "200"
        assert operation["responses"][success]["content"][JSON]["examples"], action
        assert {"oauth2": [scope]} in operation["security"], action
    assert {"oauth2": ["members:read"]} in paths[f"{base}{{episode_id}}/encounters"][
        "get"
    ]["security"]
    enroll = paths[f"{base}{{episode_id}}/enroll"]["post"]
    assert "If-Match" in {parameter["name"] for parameter in enroll["parameters"]}
    assert "409" in enroll["responses"]
