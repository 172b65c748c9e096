"""Demo care plan: one active San Diego member with an agreed plan and a care team.

Member 90000011D (led by the Harbor care manager) gets, through the services: a
care plan with housing and food needs, goals in the member's own words,
interventions, the member's agreement (which makes the episode active), an
outside contact (a primary care provider) and a care conference. A member who already
has a care plan is left alone, so running it twice changes nothing.
"""

from datetime import timedelta

from django.utils import timezone

from care_plans.models import CarePlan, Episode
from care_plans.services import (
    care_conference_record,
    care_plan_agree,
    care_plan_start,
    care_team_add,
    goal_add,
    intervention_add,
)
from members.services import member_by_cin

CIN = "90000011D"


def seed(stdout, organizations, users):
    """Add the demo care plan (idempotent)."""
    member = member_by_cin(CIN)
    if member is None or CarePlan.objects.filter(member=member).exists():
        return
    episode = Episode.objects.filter(member=member, closed_at__isnull=True).first()
    if episode is None or episode.status != Episode.Status.ENROLLED:
        return
    today = timezone.localdate()
    care_manager = users["care.manager@harbor.example"]

    pcp = care_team_add(
        episode=episode,
        role="pcp",
        name="Dr. Avery Synthetic",
        organization_name="Example Family Clinic",
        phone="(555) 010-2000",
        email="front.desk@clinic.example",
        actor=care_manager,
    )
    # No staff colleague: one would come with an access grant, and the demo's
    # colleague account stays without members (README: "no caseload").
    plan = care_plan_start(
        episode=episode,
        actor=care_manager,
        needs=[
            {
                "domain": "housing",
                "description": "Staying with friends; has to leave next month.",
                "source": "suggested",
                "question": "hrsn_living_situation",
            },
            {
                "domain": "food",
                "description": "Runs out of food before the end of the month.",
                "source": "suggested",
                "question": "hrsn_food_ran_out",
            },
        ],
    )
    housing, food = plan.needs.order_by("position")
    version = plan.lock_version

    def step(result):
        nonlocal version
        version += 1
        return result

    housing_goal = step(
        goal_add(
            care_plan=plan,
            need=housing,
            description="I want my own room where I can keep my things safe.",
            target_date=today + timedelta(days=120),
            actor=care_manager,
            expected_version=version,
        )
    )
    step(
        intervention_add(
            goal=housing_goal,
            description="Refer to housing transition navigation.",
            responsible="staff",
            responsible_user=care_manager,
            due_date=today + timedelta(days=7),
            actor=care_manager,
            expected_version=version,
        )
    )
    step(
        intervention_add(
            goal=housing_goal,
            description="Gather ID, income letter and birth certificate.",
            responsible="member",
            due_date=today + timedelta(days=21),
            actor=care_manager,
            expected_version=version,
        )
    )
    food_goal = step(
        goal_add(
            care_plan=plan,
            need=food,
            description="Have enough to eat every day of the month.",
            target_date=today + timedelta(days=60),
            actor=care_manager,
            expected_version=version,
        )
    )
    step(
        intervention_add(
            goal=food_goal,
            description="Ask the clinic about medically tailored meals.",
            responsible="care_team",
            responsible_contact=pcp,
            due_date=today + timedelta(days=30),
            actor=care_manager,
            expected_version=version,
        )
    )
    care_plan_agree(
        care_plan=plan, agreed_on=today, actor=care_manager, expected_version=version
    )
    care_conference_record(
        episode=episode,
        held_on=today,
        attendees="Member, Carmen Reyes (lead care manager), Dr. Avery Synthetic (PCP)",
        notes="Agreed the plan; housing navigation referral this week.",
        actor=care_manager,
    )
    stdout.write(f"Demo care plan: member {CIN} is active with an agreed plan.\n")
