"""The enrollment clocks (DOMAIN.md §10b): the comprehensive assessment within 60
days and the agreed care management plan within 90 days of ECM enrollment."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calaim.work.kinds import task_kind
from calaim.work.models import Task
from care_plans.assessments.models import Assessment
from care_plans.models import Episode
from care_plans.services import (
    care_plan_agree,
    care_plan_start,
    episode_assign,
    episode_authorize,
    episode_discontinue,
    episode_enroll,
    episode_identify,
    goal_add,
)
from community_supports.models import ProviderContract
from tests.assessments import support as assessing
from tests.factories import EnrollmentFactory, MemberFactory

TODAY = timezone.localdate
PACIFIC = ZoneInfo("America/Los_Angeles")
ASSESSMENT = "ecm.assessment_due"
CARE_PLAN = "ecm.care_plan_due"


@pytest.fixture
def enrolled(cast):
    """A new member taken through the real steps up to enrollment 20 days ago,
    with the cast's colleague as lead care manager."""
    contract = ProviderContract.objects.create(
        plan=cast.plan,
        provider=cast.ecm_provider,
        service=ProviderContract.Service.ECM,
        start_date=date(2024, 1, 1),
        capacity=10,
    )
    contract.counties.add("37")
    member = MemberFactory(first_name="Dana", last_name="Duedate")
    EnrollmentFactory(member=member, plan=cast.plan, start_date=date(2025, 1, 1))
    episode = episode_identify(member=member, source="plan_data", actor=cast.plan_admin)
    episode = episode_authorize(
        episode=episode,
        actor=cast.plan_admin,
        authorization_number="AUTH-60",
        authorized_from=TODAY() - timedelta(days=30),
        authorized_through=TODAY() + timedelta(days=150),
    )
    episode = episode_assign(
        episode=episode,
        provider=cast.ecm_provider,
        lead_care_manager=cast.colleague,
        actor=cast.plan_admin,
    )

    def enroll(actor=None):
        return episode_enroll(
            episode=episode,
            consented_on=TODAY() - timedelta(days=20),
            consent_method="verbal",
            actor=actor or cast.colleague,
        )

    return enroll


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=PACIFIC)


def _task(episode: Episode, kind: str) -> Task:
    return Task.objects.get(
        kind=kind, source_type="care_plans.episode", source_id=str(episode.pk)
    )


def test_both_kinds_are_registered_with_labels(db):
    assert task_kind(ASSESSMENT).label == "Comprehensive assessment due"
    assert task_kind(CARE_PLAN).label == "Care management plan due"


def test_enrolling_opens_both_clocks_for_the_lead_care_manager(cast, enrolled):
    episode = enrolled()
    enrolled_on = TODAY() - timedelta(days=20)
    assert episode.enrolled_on == enrolled_on
    assessment = _task(episode, ASSESSMENT)
    plan = _task(episode, CARE_PLAN)
    for task, days in ((assessment, 60), (plan, 90)):
        assert task.status == "open"
        assert task.owner == cast.colleague
        assert task.organization is None
        assert task.member_id == episode.member_id
        assert task.due_at == _end_of(enrolled_on + timedelta(days=days))


def test_without_an_active_lead_the_clocks_go_to_the_providers_queue(cast, enrolled):
    cast.colleague.is_active = False
    cast.colleague.save(update_fields=["is_active"])
    episode = enrolled(actor=cast.supervisor)
    for kind in (ASSESSMENT, CARE_PLAN):
        task = _task(episode, kind)
        assert task.owner is None
        assert task.organization == cast.ecm_provider


def test_completing_an_assessment_closes_the_assessment_clock_only(cast, enrolled):
    episode = enrolled()
    draft = assessing.services.assessment_start(
        member=episode.member, actor=cast.colleague
    )
    # A saved draft is not a completed assessment.
    assert draft.episode == episode
    assert _task(episode, ASSESSMENT).status == "open"
    done = assessing.services.assessment_complete(
        assessment=draft, answers=assessing.MINIMAL_ANSWERS, actor=cast.colleague
    )
    assert done.status == Assessment.Status.COMPLETED
    closed = _task(episode, ASSESSMENT)
    assert closed.status == "done"
    assert closed.closed_by == cast.colleague
    assert _task(episode, CARE_PLAN).status == "open"


def test_a_failed_completion_leaves_the_clock_open(cast, enrolled):
    from django.core.exceptions import ValidationError

    episode = enrolled()
    draft = assessing.services.assessment_start(
        member=episode.member, actor=cast.colleague
    )
    with pytest.raises(ValidationError):
        assessing.services.assessment_complete(
            assessment=draft, answers={}, actor=cast.colleague
        )
    assert _task(episode, ASSESSMENT).status == "open"


def test_agreeing_the_care_plan_closes_the_care_plan_clock_only(cast, enrolled):
    episode = enrolled()
    plan = care_plan_start(
        episode=episode,
        actor=cast.colleague,
        needs=[{"domain": "housing", "description": "No stable place to sleep"}],
    )
    # A draft plan is not an agreed plan.
    assert _task(episode, CARE_PLAN).status == "open"
    goal_add(
        care_plan=plan,
        need=plan.needs.first(),
        description="I want my own apartment by summer",
        target_date=TODAY() + timedelta(days=120),
        actor=cast.colleague,
        expected_version=plan.lock_version,
    )
    plan.refresh_from_db()
    care_plan_agree(
        care_plan=plan,
        agreed_on=TODAY(),
        actor=cast.colleague,
        expected_version=plan.lock_version,
    )
    closed = _task(episode, CARE_PLAN)
    assert closed.status == "done"
    assert closed.closed_by == cast.colleague
    assert _task(episode, ASSESSMENT).status == "open"
    episode.refresh_from_db()
    assert episode.status == "active"


def test_discontinuing_leaves_neither_clock_open(cast, enrolled):
    episode = enrolled()
    episode_discontinue(episode=episode, reason="goals_met", actor=cast.supervisor)
    for kind in (ASSESSMENT, CARE_PLAN):
        task = _task(episode, kind)
        assert task.status == "cancelled"
        assert task.closed_by == cast.supervisor


def test_an_834_termination_leaves_neither_clock_open(cast, enrolled):
    from members.services.records import termination_hooks

    episode = enrolled()
    end = TODAY() - timedelta(days=1)
    span = episode.member.enrollments.get()
    span.end_date = end
    span.save(update_fields=["end_date"])
    for hook in termination_hooks:
        hook(
            member_ids=[episode.member_id],
            plan_id=cast.plan.pk,
            end_date=end,
            source=None,
        )
    episode.refresh_from_db()
    assert episode.status == "discontinued"
    assert not Task.objects.filter(
        source_type="care_plans.episode",
        source_id=str(episode.pk),
        status="open",
    ).exists()
    assert {
        _task(episode, ASSESSMENT).status,
        _task(episode, CARE_PLAN).status,
    } == {"cancelled"}
