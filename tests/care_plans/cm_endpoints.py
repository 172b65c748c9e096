"""The care manager's ECM screens in the permission matrix (see tests/matrix.py).

The caseload is for an ECM provider's care team: every care manager, supervisor
and provider administrator gets their own (possibly empty) list, everyone else
403 (the page names no member, so there is nothing to hide behind a 404).

The episode actions answer 404 first to whoever may not see the member, then
403 to those who see it without the role or the organization for the action
(a plan administrator or auditor recording outreach, a care manager
discontinuing), and succeed (302 back to the chart) for the rest. The outreach
stage needs an episode in outreach, which the cast lacks: the data lambdas set
one up through the services for a second member of the cast's plan, assigned to
the cast's lead care manager (the colleague and the CS provider do not see that
member; the plan's administrator and auditor do).
"""

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from tests.matrix import register

CARE_TEAM = {
    "lead_care_manager",
    "colleague",
    "supervisor",
    "provider_admin",
    "other_care_manager",
}
# See the member (plan enrollment) but may not act for the provider.
PLAN_SIDE = {"plan_admin", "auditor"}


def _contract(cast):
    from community_supports.models import ProviderContract

    contract, created = ProviderContract.objects.get_or_create(
        plan=cast.plan,
        provider=cast.ecm_provider,
        service=ProviderContract.Service.ECM,
        defaults={"start_date": date(2024, 1, 1), "capacity": 10},
    )
    if created:
        contract.counties.add("37")
    return contract


def assigned_episode(cast, *, backdate_days=0):
    """A second member of the cast's plan, identified, authorized and assigned to
    the cast's lead care manager through the services (memoized per cast)."""
    key = f"_cm_assigned_{backdate_days}"
    if key in cast.__dict__:
        return cast.__dict__[key]
    from care_plans.models import Episode
    from care_plans.services import episode_assign, episode_authorize, episode_identify
    from tests.factories import EnrollmentFactory, MemberFactory

    _contract(cast)
    member = MemberFactory(first_name="Olive", last_name="Outreach")
    EnrollmentFactory(member=member, plan=cast.plan)
    today = timezone.localdate()
    episode = episode_identify(member=member, source="plan_data", actor=cast.plan_admin)
    episode = episode_authorize(
        episode=episode,
        actor=cast.plan_admin,
        authorization_number="MATRIX-1",
        authorized_from=today - timedelta(days=backdate_days),
        authorized_through=today + timedelta(days=180),
    )
    episode = episode_assign(
        episode=episode,
        provider=cast.ecm_provider,
        lead_care_manager=cast.lead_care_manager,
        actor=cast.plan_admin,
    )
    if backdate_days:
        # Outreach over 30 days needs an assignment that long ago; the services
        # stamp "now", so the setup moves the stamp back.
        Episode.objects.filter(pk=episode.pk).update(
            assigned_at=timezone.now() - timedelta(days=backdate_days)
        )
        episode.refresh_from_db()
    cast.__dict__[key] = episode
    return episode


def episode_past_outreach_rule(cast):
    """An episode in outreach whose attempts meet the rule (3, 2 methods, 30+ days)."""
    key = "_cm_rule_met"
    if key in cast.__dict__:
        return cast.__dict__[key]
    from care_plans.services import outreach_record

    episode = assigned_episode(cast, backdate_days=40)
    now = timezone.now()
    for days_ago, method in ((35, "phone"), (20, "in_person"), (1, "phone")):
        outreach_record(
            episode=episode,
            attempted_at=now - timedelta(days=days_ago),
            method=method,
            outcome="no_answer",
            minutes=10,
            actor=cast.lead_care_manager,
        )
    episode.refresh_from_db()
    cast.__dict__[key] = episode
    return episode


def _url(name, episode):
    return reverse(name, args=[episode.uuid])


register(
    "ecm_caseload",
    "GET",
    lambda cast: reverse("ecm_caseload"),
    allowed=CARE_TEAM,
    forbidden={
        "plan_admin",
        "other_plan_admin",
        "cs_provider",
        "other_cs_provider",
        "auditor",
        "interface_admin",
    },
)
register(
    "ecm_caseload_filtered",
    "GET",
    lambda cast: (
        f"{reverse('ecm_caseload')}?q=Castmember&status=enrolled&needs_outreach=on"
    ),
    allowed=CARE_TEAM,
    forbidden={
        "plan_admin",
        "other_plan_admin",
        "cs_provider",
        "other_cs_provider",
        "auditor",
        "interface_admin",
    },
)

# --- The outreach stage (a second member, assigned to the lead care manager) ---

register(
    "ecm_outreach",
    "POST",
    lambda cast: _url("ecm_outreach", assigned_episode(cast)),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", *PLAN_SIDE},
    ok_status=(302,),
    data=lambda cast: {
        "attempted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "method": "phone",
        "outcome": "no_answer",
        "minutes": "5",
    },
)
register(
    "ecm_enroll",
    "POST",
    lambda cast: _url("ecm_enroll", assigned_episode(cast)),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", *PLAN_SIDE},
    ok_status=(302,),
    data=lambda cast: {
        "consented_on": timezone.localdate().isoformat(),
        "consent_method": "verbal",
        "expected_version": assigned_episode(cast).version,
    },
)
register(
    "ecm_decline",
    "POST",
    lambda cast: _url("ecm_decline", assigned_episode(cast)),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", *PLAN_SIDE},
    ok_status=(302,),
    data=lambda cast: {
        "reason": "Not interested now.",
        "expected_version": assigned_episode(cast).version,
    },
)
register(
    "ecm_unable_to_reach",
    "POST",
    lambda cast: _url("ecm_unable_to_reach", episode_past_outreach_rule(cast)),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", *PLAN_SIDE},
    ok_status=(302,),
    data=lambda cast: {"expected_version": episode_past_outreach_rule(cast).version},
)

# --- The cast's enrolled episode ---

register(
    "ecm_encounter",
    "POST",
    lambda cast: _url("ecm_encounter", cast.episode),
    allowed={"lead_care_manager", "supervisor"},
    forbidden={"provider_admin", *PLAN_SIDE},
    ok_status=(302,),
    data=lambda cast: {
        "occurred_on": timezone.localdate().isoformat(),
        "mode": "in_person",
        "minutes": "30",
        "staff_type": "non_clinical",
    },
)
register(
    "ecm_discontinue",
    "POST",
    lambda cast: _url("ecm_discontinue", cast.episode),
    # Care managers do not discontinue; their supervisor or the plan does.
    allowed={"supervisor", "provider_admin", "plan_admin"},
    forbidden={"lead_care_manager", "auditor"},
    ok_status=(302,),
    data=lambda cast: {
        "reason": "goals_met",
        "on": timezone.localdate().isoformat(),
        "expected_version": cast.episode.version,
    },
)
register(
    "ecm_reassign",
    "POST",
    lambda cast: _url("ecm_reassign", cast.episode),
    # The service lets the plan reassign too (episode_reassign_lead).
    allowed={"supervisor", "provider_admin", "plan_admin"},
    forbidden={"lead_care_manager", "auditor"},
    ok_status=(302,),
    data=lambda cast: {
        "lead_care_manager": cast.colleague.pk,
        "expected_version": cast.episode.version,
    },
)
register(
    "ecm_cover",
    "POST",
    lambda cast: _url("ecm_cover", cast.episode),
    allowed={"supervisor", "provider_admin"},
    # The plan administrator may grant access in general, but covering is the
    # provider's business: 403.
    forbidden={"lead_care_manager", "plan_admin", "auditor"},
    ok_status=(302,),
    data=lambda cast: {
        "care_manager": cast.colleague.pk,
        "until": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "reason": "Lead care manager on leave",
    },
)
