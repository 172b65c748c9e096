"""The referral form's care-plan goal picker: the member's current goals are
offered (a Part 2 goal only to the treating team), the picked goal and its need
are stored, the referral shows it, the plan page links each agreed goal to the
form; the form's query count does not grow with the goals."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from calaim.accounts import roles
from care_plans.models import Episode
from care_plans.selectors import care_plan_goals
from care_plans.services import care_plan_agree, care_plan_start, goal_add
from referrals.models import Referral
from tests import factories as f
from tests.referrals.support import world

pytestmark = pytest.mark.django_db

RECOVERY = "Keep going to my recovery group"


def _plan(w, *, goals=1, part2=False, agree=True):
    """A plan for the world's member: a housing need with `goals` goals and,
    with `part2`, a substance-use need with a Part 2 goal."""
    episode = Episode.objects.get(member=w.member)
    plan = care_plan_start(
        episode=episode,
        actor=w.care_manager,
        needs=[
            {"domain": "housing", "description": "Sleeping in a car"},
            {"domain": "substance_use", "description": "Alcohol use"},
        ],
    )
    housing, substance = plan.needs.order_by("position")
    version = 1
    for index in range(goals):
        goal_add(
            care_plan=plan, need=housing, description=f"A place with a door {index}",
            actor=w.care_manager, expected_version=version,
        )  # fmt: skip
        version += 1
    if part2:
        goal_add(
            care_plan=plan, need=substance, description=RECOVERY, part2=True,
            actor=w.care_manager, expected_version=version,
        )  # fmt: skip
    plan.refresh_from_db()
    if agree:
        care_plan_agree(
            care_plan=plan, agreed_on=timezone.localdate(), actor=w.care_manager,
            expected_version=plan.lock_version,
        )  # fmt: skip
        plan.refresh_from_db()
    return plan


def _new(w):
    return reverse("referral_new", args=[w.member.uuid])


def _options(body: str) -> dict:
    select = re.search(r'<select[^>]*name="goal_uid".*?</select>', body, re.S)
    assert select, "the goal picker is on the page"
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select[0]))


def _supervisor(w):
    return f.UserFactory(organization=w.referrer_org, roles=[roles.SUPERVISOR])


def test_the_form_lists_the_members_goals_with_their_needs(client):
    w = world()
    plan = _plan(w, goals=2)
    client.force_login(w.care_manager)

    response = client.get(_new(w))

    assert response.status_code == 200
    options = _options(response.content.decode())
    goals = list(plan.goals.order_by("position"))
    assert options == {
        "": "No goal named",
        str(goals[0].uid): "A place with a door 0 — Sleeping in a car",
        str(goals[1].uid): "A place with a door 1 — Sleeping in a car",
    }


def test_a_draft_is_offered_while_no_version_is_agreed(client):
    w = world()
    plan = _plan(w, agree=False)
    client.force_login(w.care_manager)

    options = _options(client.get(_new(w)).content.decode())

    assert str(plan.goals.get().uid) in options


def test_goal_uid_in_the_address_preselects_the_goal(client):
    w = world()
    goal = _plan(w, goals=2).goals.order_by("position").last()
    client.force_login(w.care_manager)

    body = client.get(f"{_new(w)}?goal_uid={goal.uid}").content.decode()

    assert re.search(rf'<option value="{goal.uid}" selected>', body)


def test_creating_with_a_picked_goal_stores_the_goal_and_its_need(client):
    w = world()
    goal = _plan(w, goals=2).goals.select_related("need").order_by("position")[1]
    client.force_login(w.care_manager)

    response = client.post(
        _new(w),
        {"support": w.support.pk, "urgency": "standard", "goal_uid": str(goal.uid)},
    )

    assert response.status_code == 302
    referral = Referral.objects.get()
    assert referral.goal_uid == goal.uid
    assert referral.need_uid == goal.need.uid
    detail = client.get(response["Location"]).content.decode()
    assert "A place with a door 1" in detail
    assert "Sleeping in a car" in detail


def test_creating_without_a_goal_stores_none(client):
    w = world()
    _plan(w)
    client.force_login(w.care_manager)

    response = client.post(_new(w), {"support": w.support.pk, "urgency": "standard"})

    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.goal_uid, referral.need_uid) == (None, None)


def test_a_goal_not_on_the_plan_is_refused_by_the_service_and_nothing_written(
    client,
):
    w = world()
    _plan(w)
    client.force_login(w.care_manager)

    response = client.post(
        _new(w),
        {"support": w.support.pk, "urgency": "standard", "goal_uid": str(uuid.uuid4())},
    )

    assert response.status_code == 400
    assert "That goal is not on the member" in response.content.decode()
    assert not Referral.objects.exists()


def test_a_part2_goal_is_offered_to_the_treating_team_only(client):
    w = world()
    plan = _plan(w, part2=True)
    recovery = plan.goals.get(part2=True)
    outsider = _supervisor(w)

    client.force_login(w.care_manager)
    treating = _options(client.get(_new(w)).content.decode())
    client.force_login(outsider)
    outside = _options(client.get(_new(w)).content.decode())

    assert treating[str(recovery.uid)] == f"{RECOVERY} — Alcohol use"
    assert str(recovery.uid) not in outside
    assert len(outside) == len(treating) - 1
    assert [g.uid for g in care_plan_goals(member=w.member, user=outsider)] == [
        g.uid for g in plan.goals.filter(part2=False)
    ]


def test_a_withheld_part2_goal_cannot_be_posted_by_an_outsider(client):
    w = world()
    recovery = _plan(w, part2=True).goals.get(part2=True)
    client.force_login(_supervisor(w))

    response = client.post(
        _new(w),
        {"support": w.support.pk, "urgency": "standard", "goal_uid": str(recovery.uid)},
    )

    assert response.status_code == 400
    assert RECOVERY not in response.content.decode()
    assert not Referral.objects.exists()


def test_the_referral_hides_a_part2_goal_from_an_outsider(client):
    w = world()
    recovery = _plan(w, part2=True).goals.get(part2=True)
    client.force_login(w.care_manager)
    created = client.post(
        _new(w),
        {"support": w.support.pk, "urgency": "standard", "goal_uid": str(recovery.uid)},
    )
    assert created.status_code == 302
    assert Referral.objects.get().goal_uid == recovery.uid
    assert RECOVERY in client.get(created["Location"]).content.decode()

    client.force_login(_supervisor(w))
    detail = client.get(created["Location"])

    assert detail.status_code == 200
    body = detail.content.decode()
    assert RECOVERY not in body
    assert "Serves a goal on the care plan" in body


def test_the_agreed_plan_page_links_each_goal_to_the_referral_form(client):
    w = world()
    plan = _plan(w, goals=2)
    client.force_login(w.care_manager)

    body = client.get(reverse("careplan_detail", args=[plan.uuid])).content.decode()

    for goal in plan.goals.all():
        assert f"{_new(w)}?goal_uid={goal.uid}" in body
    assert body.count("data-refer-goal") == 2


def test_no_refer_link_on_a_draft_or_for_those_who_may_not_refer(client):
    w = world()
    draft = _plan(w, agree=False)
    client.force_login(w.care_manager)
    body = client.get(reverse("careplan_detail", args=[draft.uuid])).content.decode()
    assert "data-refer-goal" not in body

    other = world()
    agreed = _plan(other, goals=1)
    client.force_login(other.plan_admin)
    page = client.get(reverse("careplan_detail", args=[agreed.uuid]))
    assert page.status_code == 200
    assert "data-refer-goal" not in page.content.decode()


@pytest.mark.parametrize("goals", [1, 8])
def test_the_form_query_count_is_pinned_and_does_not_grow_with_goals(
    client, django_assert_num_queries, goals
):
    w = world()
    _plan(w, goals=goals, part2=True)
    client.force_login(w.care_manager)
    url = f"{_new(w)}?support={w.support.pk}"
    client.get(url)
    # The page's shell (session, user with their roles, permissions and
    # organization), the member and its access
    # audit, the enrollment, the supports offered, the goals, the Part 2 check,
    # the chosen support and its directory: the same for 2 goals and for 9.
    with django_assert_num_queries(PINNED):
        body = client.get(url).content.decode()

    assert len(_options(body)) == goals + 2


PINNED = 13
