"""The care plan, care team and conference API: an ECM provider's system builds
and agrees a plan with versions, conflicts are 409, Part 2 goals are withheld
from callers no consent covers, and the RTF dates follow the data."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from care_plans.models import CarePlan, CareTeamMember, Episode, Goal
from care_plans.services import care_plan_start, goal_add
from members.models import MemberGrant
from members.part2 import REDISCLOSURE_NOTICE
from tests.api_auth import authenticate_api_client

JSON = "application/json"
TODAY = timezone.localdate


def _as(client, user):
    return authenticate_api_client(client, user)


def _errors(response):
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


def _create(api, episode, **body):
    return api.post(
        reverse("api_episode_care_plan", args=[episode.uuid]),
        body
        or {
            "language": "SPA",
            "needs": [
                {
                    "domain": "housing",
                    "description": "Sleeping in a car",
                    "source": "suggested",
                    "goals": [
                        {
                            "description": "A place with a door that locks",
                            "target_date": str(TODAY() + timedelta(days=90)),
                            "interventions": [
                                {
                                    "description": "Housing navigation referral",
                                    "responsible": "staff",
                                    "responsible_user_email": (
                                        "lead.care.manager@cast.example"
                                    ),
                                }
                            ],
                        }
                    ],
                }
            ],
        },
        content_type=JSON,
    )


def _plan_url(name, plan_id):
    return reverse(name, args=[plan_id])


def test_provider_system_creates_agrees_and_revises_a_plan(cast, client):
    api = _as(client, cast.provider_api)

    created = _create(api, cast.episode)

    assert created.status_code == 201, created.json()
    plan = created.json()
    assert plan["status"] == "draft"
    assert plan["number"] == 1
    (need,) = plan["needs"]
    (goal,) = need["goals"]
    (item,) = goal["interventions"]
    assert item["responsible_name"] == "Lead Care Manager"
    assert created["ETag"] == f'"{plan["version"]}"'

    agreed = api.post(
        _plan_url("api_care_plan_agree", plan["id"]),
        {"member_agreed_on": str(TODAY())},
        content_type=JSON,
        HTTP_IF_MATCH=f'"{plan["version"]}"',
    )

    assert agreed.status_code == 200, agreed.json()
    assert agreed.json()["status"] == "agreed"
    assert agreed.json()["latest_care_plan_revision_date"] == str(TODAY())
    episode = api.get(reverse("api_episode_detail", args=[cast.episode.uuid])).json()
    assert episode["status"] == "active"
    assert episode["latest_care_plan_revision_date"] == str(TODAY())

    revised = api.post(
        _plan_url("api_care_plan_revise", plan["id"]),
        {"version": agreed.json()["version"]},
        content_type=JSON,
    )

    assert revised.status_code == 201
    assert revised.json()["number"] == 2
    assert revised.json()["needs"][0]["goals"][0]["uid"] == goal["uid"]
    current = api.get(reverse("api_episode_care_plan", args=[cast.episode.uuid]))
    assert current.json()["id"] == revised.json()["id"]
    versions = api.get(reverse("api_episode_care_plans", args=[cast.episode.uuid]))
    assert sorted(row["number"] for row in versions.json()["results"]) == [1, 2]


def test_put_replaces_the_draft_by_uid(cast, client):
    api = _as(client, cast.provider_api)
    plan = _create(api, cast.episode).json()
    need = plan["needs"][0]

    response = api.put(
        _plan_url("api_care_plan_detail", plan["id"]),
        {
            "version": plan["version"],
            "needs": [
                {
                    "uid": need["uid"],
                    "domain": "housing",
                    "description": "Sleeping in a car since March",
                    "goals": [
                        {
                            "uid": need["goals"][0]["uid"],
                            "description": "A studio near my work",
                            "status": "in_progress",
                        }
                    ],
                },
                {"domain": "food", "description": "Runs out of food"},
            ],
        },
        content_type=JSON,
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == plan["version"] + 1
    assert [n["domain"] for n in body["needs"]] == ["housing", "food"]
    assert body["needs"][0]["uid"] == need["uid"]
    assert body["needs"][0]["goals"][0]["interventions"] == []
    assert Goal.objects.get().description == "A studio near my work"


def test_stale_put_is_409_and_writes_nothing(cast, client):
    api = _as(client, cast.provider_api)
    plan = _create(api, cast.episode).json()

    response = api.put(
        _plan_url("api_care_plan_detail", plan["id"]),
        {"version": plan["version"] - 1, "needs": []},
        content_type=JSON,
    )

    assert response.status_code == 409
    assert _errors(response) == [(None, "stale_version")]
    assert Goal.objects.count() == 1


def test_write_without_a_version_is_refused(cast, client):
    api = _as(client, cast.provider_api)
    plan = _create(api, cast.episode).json()

    response = api.put(
        _plan_url("api_care_plan_detail", plan["id"]),
        {"needs": []},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert _errors(response) == [("version", "required")]
    assert Goal.objects.count() == 1


def test_patch_goal_without_a_need_is_refused(cast, client):
    api = _as(client, cast.provider_api)
    plan = _create(api, cast.episode).json()
    goal = plan["needs"][0]["goals"][0]

    response = api.patch(
        _plan_url("api_care_plan_detail", plan["id"]),
        {"version": plan["version"], "goals": [{"uid": goal["uid"], "need_uid": None}]},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert _errors(response) == [("need", "need_required")]
    assert Goal.objects.get().need.uid.hex == plan["needs"][0]["uid"].replace("-", "")


def test_agreeing_twice_is_refused(cast, client):
    api = _as(client, cast.provider_api)
    plan = _create(api, cast.episode).json()
    url = _plan_url("api_care_plan_agree", plan["id"])
    first = api.post(
        url,
        {"version": plan["version"], "member_agreed_on": str(TODAY())},
        content_type=JSON,
    )

    again = api.post(
        url,
        {"version": first.json()["version"], "member_agreed_on": str(TODAY())},
        content_type=JSON,
    )

    assert again.status_code == 400
    assert _errors(again) == [("care_plan", "already_agreed")]


def test_agreed_plan_accepts_progress_only(cast, client):
    api = _as(client, cast.provider_api)
    plan = _create(api, cast.episode).json()
    agreed = api.post(
        _plan_url("api_care_plan_agree", plan["id"]),
        {"version": plan["version"], "member_agreed_on": str(TODAY())},
        content_type=JSON,
    ).json()
    goal = agreed["needs"][0]["goals"][0]
    url = _plan_url("api_care_plan_detail", plan["id"])

    progress = api.patch(
        url,
        {
            "version": agreed["version"],
            "goals": [{"uid": goal["uid"], "status": "met"}],
        },
        content_type=JSON,
    )
    rewrite = api.patch(
        url,
        {
            "version": progress.json()["version"],
            "goals": [{"uid": goal["uid"], "description": "Something else"}],
        },
        content_type=JSON,
    )

    assert progress.status_code == 200
    assert progress.json()["needs"][0]["goals"][0]["status"] == "met"
    assert rewrite.status_code == 400
    assert _errors(rewrite) == [("care_plan", "not_draft")]


def test_another_providers_system_gets_404(cast, client):
    from calaim.accounts import roles
    from calaim.accounts.services import service_account_create

    plan = care_plan_start(episode=cast.episode, actor=cast.lead_care_manager)
    other = service_account_create(
        organization=cast.other_ecm_provider,
        role_name=roles.PROVIDER_API,
        name="Other provider API",
    )

    api = _as(client, other)

    assert api.get(_plan_url("api_care_plan_detail", plan.uuid)).status_code == 404
    assert (
        api.get(reverse("api_episode_care_plan", args=[cast.episode.uuid])).status_code
        == 404
    )


# --- Part 2 ---------------------------------------------------------------------------


@pytest.fixture
def part2_plan(cast):
    plan = care_plan_start(
        episode=cast.episode,
        actor=cast.lead_care_manager,
        needs=[
            {"domain": "housing", "description": "Sleeping in a car"},
            {"domain": "substance_use", "description": "Alcohol use"},
        ],
    )
    housing, substance = plan.needs.order_by("position")
    goal_add(
        care_plan=plan,
        need=housing,
        description="A place with a door that locks",
        actor=cast.lead_care_manager,
        expected_version=1,
    )
    goal_add(
        care_plan=plan,
        need=substance,
        description="Keep going to my recovery group",
        part2=True,
        actor=cast.lead_care_manager,
        expected_version=2,
    )
    plan.refresh_from_db()
    return plan


def test_part2_goals_are_withheld_from_an_api_client_without_consent(
    cast, client, part2_plan
):
    api = _as(client, cast.provider_api)

    response = api.get(_plan_url("api_care_plan_detail", part2_plan.uuid))

    body = response.json()
    goals = [goal for need in body["needs"] for goal in need["goals"]]
    assert [goal["description"] for goal in goals] == ["A place with a door that locks"]
    assert body["part2_withheld"] == 1
    assert body["part2_notice"] is None
    assert AuditEvent.objects.filter(
        object_type="part2_withheld", actor_id=cast.provider_api.pk
    ).exists()


def test_part2_goals_reach_the_treating_care_manager_with_the_notice(
    cast, client, part2_plan
):
    api = _as(client, cast.lead_care_manager)

    body = api.get(_plan_url("api_care_plan_detail", part2_plan.uuid)).json()

    assert body["part2_withheld"] == 0
    assert body["part2_notice"] == REDISCLOSURE_NOTICE
    assert any(goal["part2"] for need in body["needs"] for goal in need["goals"])


def test_a_put_without_part2_sight_keeps_the_hidden_goals(cast, client, part2_plan):
    api = _as(client, cast.provider_api)
    shown = api.get(_plan_url("api_care_plan_detail", part2_plan.uuid)).json()
    housing = shown["needs"][0]

    response = api.put(
        _plan_url("api_care_plan_detail", part2_plan.uuid),
        {"version": shown["version"], "needs": [housing]},
        content_type=JSON,
    )

    assert response.status_code == 200, response.json()
    assert Goal.objects.filter(part2=True).count() == 1
    assert response.json()["part2_withheld"] == 1


@pytest.mark.parametrize("goals", [1, 8])
def test_plan_query_count_is_pinned(
    cast, client, django_assert_num_queries, part2_plan, goals
):
    plan = part2_plan
    need = plan.needs.first()
    for number in range(goals):
        goal_add(
            care_plan=plan,
            need=need,
            description=f"Goal {number}",
            actor=cast.lead_care_manager,
            expected_version=plan.lock_version,
        )
        plan.refresh_from_db()
    api = _as(client, cast.provider_api)
    url = _plan_url("api_care_plan_detail", plan.uuid)
    api.get(url)

    # Token (with its user), permissions, the plan, the plan again with its
    # episode, the Part 2 decision, needs, goals, interventions, the
    # withholding's audit event and the request's.
    with django_assert_num_queries(10):
        assert api.get(url).status_code == 200


# --- Care team and conferences --------------------------------------------------------


def test_care_team_through_the_api(cast, client):
    api = _as(client, cast.provider_api)
    url = reverse("api_episode_care_team", args=[cast.episode.uuid])

    contact = api.post(
        url,
        {"role": "pcp", "name": "Dr. Synthetic Example", "phone": "619-555-0100"},
        content_type=JSON,
    )
    colleague = api.post(
        url,
        {"role": "chw", "user_email": "colleague@cast.example"},
        content_type=JSON,
    )
    no_contact = api.post(url, {"role": "pcp", "name": "Dr. Nobody"}, content_type=JSON)

    assert contact.status_code == 201
    # Adding a colleague gives access, which a machine may not grant.
    assert colleague.status_code == 403
    assert not MemberGrant.objects.exists()
    assert no_contact.status_code == 400
    assert _errors(no_contact) == [("phone", "no_contact")]
    listed = api.get(url).json()["results"]
    assert [row["name"] for row in listed] == ["Dr. Synthetic Example"]

    removed = api.delete(reverse("api_care_team_member", args=[listed[0]["id"]]))

    assert removed.status_code == 200
    assert removed.json()["removed_at"] is not None
    assert api.get(url).json()["results"] == []
    assert CareTeamMember.objects.count() == 1


def test_conference_sets_the_rtf_date(cast, client):
    Episode.objects.filter(pk=cast.episode.pk).update(
        enrolled_on=TODAY() - timedelta(days=30)
    )
    api = _as(client, cast.provider_api)
    url = reverse("api_episode_care_conferences", args=[cast.episode.uuid])
    held = TODAY() - timedelta(days=3)

    response = api.post(
        url,
        {"most_recent_care_conference_date": str(held), "attendees": "Member, PCP"},
        content_type=JSON,
    )
    future = api.post(
        url,
        {
            "most_recent_care_conference_date": str(TODAY() + timedelta(days=1)),
            "attendees": "Member",
        },
        content_type=JSON,
    )

    assert response.status_code == 201
    assert future.status_code == 400
    episode = api.get(reverse("api_episode_detail", args=[cast.episode.uuid])).json()
    assert episode["most_recent_care_conference_date"] == str(held)
    assert [row["attendees"] for row in api.get(url).json()["results"]] == [
        "Member, PCP"
    ]


def test_plan_admin_reads_but_cannot_write(cast, client):
    plan = care_plan_start(episode=cast.episode, actor=cast.lead_care_manager)
    api = _as(client, cast.plan_admin)

    read = api.get(_plan_url("api_care_plan_detail", plan.uuid))
    write = api.put(
        _plan_url("api_care_plan_detail", plan.uuid),
        {"version": 1, "needs": []},
        content_type=JSON,
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert CarePlan.objects.get().lock_version == 1
