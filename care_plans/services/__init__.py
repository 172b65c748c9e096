"""Writes for ECM: the episode lifecycle, outreach, encounters and notices.

- episodes: identification, authorization, assignment, outreach, enrollment, the end
- encounters: ECM services and their DHCS codes
- notices: generated, printable notices kept on the chart
- care_plans: the care management plan, its versions and review tasks
- care_team: the care team (and its access grants) and care conferences
"""

from care_plans.services.care_plans import (
    REVIEW_TASK,
    care_plan_agree,
    care_plan_review_request,
    care_plan_revise,
    care_plan_start,
    care_plan_update,
    goal_add,
    goal_remove,
    goal_update,
    intervention_add,
    intervention_remove,
    intervention_update,
    need_add,
    need_remove,
    need_update,
)
from care_plans.services.care_team import (
    care_conference_record,
    care_team_add,
    care_team_remove,
)
from care_plans.services.encounters import encounter_record
from care_plans.services.episodes import (
    end_episodes_on_termination,
    episode_activate,
    episode_assign,
    episode_authorize,
    episode_decline,
    episode_deny,
    episode_discontinue,
    episode_enroll,
    episode_identify,
    episode_presumptively_authorize,
    episode_reassign_lead,
    episode_request_authorization,
    episode_unable_to_reach,
    outreach_record,
    outreach_rule_met,
    providers_with_capacity,
)
from care_plans.services.notices import notice_create, notice_mark_sent

__all__ = [
    "REVIEW_TASK",
    "care_conference_record",
    "care_plan_agree",
    "care_plan_review_request",
    "care_plan_revise",
    "care_plan_start",
    "care_plan_update",
    "care_team_add",
    "care_team_remove",
    "episode_activate",
    "goal_add",
    "goal_remove",
    "goal_update",
    "intervention_add",
    "intervention_remove",
    "intervention_update",
    "need_add",
    "need_remove",
    "need_update",
    "encounter_record",
    "end_episodes_on_termination",
    "episode_assign",
    "episode_authorize",
    "episode_decline",
    "episode_deny",
    "episode_discontinue",
    "episode_enroll",
    "episode_identify",
    "episode_presumptively_authorize",
    "episode_reassign_lead",
    "episode_request_authorization",
    "episode_unable_to_reach",
    "notice_create",
    "notice_mark_sent",
    "outreach_record",
    "outreach_rule_met",
    "providers_with_capacity",
]
