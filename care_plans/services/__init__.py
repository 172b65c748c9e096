"""Writes for ECM: the episode lifecycle, outreach, encounters and notices.

- episodes: identification, authorization, assignment, outreach, enrollment, the end
- encounters: ECM services and their DHCS codes
- notices: generated, printable notices kept on the chart
"""

from care_plans.services.encounters import encounter_record
from care_plans.services.episodes import (
    end_episodes_on_termination,
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
