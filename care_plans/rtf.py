"""The DHCS Return Transmission File (RTF) and Outreach Tracker File (OTF)
vocabulary: how our episodes, outreach attempts and encounters read in DHCS terms.

DESIGN.md §5: the provider API speaks RTF/OTF field names in snake_case and the
RTF is a read-only projection of our data, never a second place to edit it. This
module is the one place that projection is written, so the API, and later the
monthly RTF file, say the same thing.

The DHCS value lists for "Member ECM Status" and "Discontinuation Reason Code" are
NOT confirmed (DOMAIN.md §9 item 3, §11: "NOT FOUND ... ECM status ... value
lists, DHCS discontinuation code meanings"). `ECM_STATUS` below is our best
reading of the RTF templates seen in MCP guides; the discontinuation codes live
with their reasons in `care_plans.models.DHCS_DISCONTINUATION_CODES`. Correct
them here (and there) once the DHCS template is in hand.
"""

from django.utils import timezone

from care_plans.models import (
    DHCS_DISCONTINUATION_CODES,
    OTF_OUTREACH_METHOD,
    DiscontinuationReason,
    Episode,
    EpisodeStatus,
)

# Our status -> RTF "Member ECM Status" (field 16). UNCONFIRMED value list.
# Before assignment the member is not yet the provider's: "Pending" covers the
# plan's steps; assignment and outreach are "Pending" enrollment too (the RTF
# has no separate outreach status in the templates we saw; the OTF carries it).
ECM_STATUS = {
    EpisodeStatus.IDENTIFIED: "Pending",
    EpisodeStatus.AUTHORIZATION_REQUESTED: "Pending",
    EpisodeStatus.AUTHORIZED: "Pending",
    EpisodeStatus.DENIED: "Denied",
    EpisodeStatus.ASSIGNED: "Pending",
    EpisodeStatus.OUTREACH: "Pending",
    EpisodeStatus.ENROLLED: "Enrolled",
    EpisodeStatus.DECLINED: "Declined",
    EpisodeStatus.UNABLE_TO_REACH: "Unable to Reach",
    EpisodeStatus.ACTIVE: "Enrolled",
    EpisodeStatus.DISCONTINUED: "Discontinued",
}


def ecm_status(status: str) -> str:
    """The RTF "Member ECM Status" for one of our episode statuses."""
    return ECM_STATUS[status]


def otf_outreach_method(method: str) -> str:
    """The OTF "Outreach Attempt Method" bucket (In-Person or Telephonic)."""
    return OTF_OUTREACH_METHOD[method]


def _local_date(moment):
    return timezone.localdate(moment) if moment is not None else None


def _blank_to_none(value):
    return value or None


def episode_row(episode: Episode) -> dict:
    """One episode as the API shows it: ids, the MIF-like member fields and the
    RTF projection.

    `episode` comes from `care_plans.selectors.with_rtf_fields` (member, plan,
    provider and lead care manager joined; encounter counts, dates, payer id and
    populations annotated), so this touches no database.
    """
    member = episode.member
    provider = episode.ecm_provider
    lead = episode.lead_care_manager
    reason = episode.discontinuation_reason
    return {
        "id": episode.uuid,
        "version": episode.version,
        "status": episode.status,
        "updated_at": episode.changed_at,
        "member_id": member.uuid,
        # MIF-like member fields (and RTF fields 1-15)
        "primary_payer_id": episode.primary_payer_id,
        "mcp_name": episode.plan.name if episode.plan_id else None,
        "cin": member.cin,
        "last_name": member.last_name,
        "first_name": member.first_name,
        "middle_name": member.middle_name,
        "birth_date": member.birth_date,
        "preferred_language": member.preferred_language,
        "homelessness_indicator": member.is_homeless,
        "residential_address": member.address_line1,
        "residential_address_2": member.address_line2,
        "residential_city": member.city,
        "residential_state": member.state,
        "residential_zip": member.zip_code,
        "phone": member.phone,
        "pof": episode.population_id,
        "populations_of_focus": episode.populations_of_focus or [],
        # RTF fields 16-38 we hold
        "ecm_status": ecm_status(episode.status),
        "ecm_enrollment_start_date": episode.enrolled_on,
        "ecm_enrollment_end_date": (
            episode.discontinued_on if episode.enrolled_on else None
        ),
        "latest_care_plan_revision_date": episode.latest_care_plan_revision_date,
        "most_recent_care_conference_date": episode.most_recent_care_conference_date,
        "assessment_started_date": _local_date(episode.assessment_started_at),
        "most_recent_completed_assessment_date": _local_date(
            episode.most_recent_completed_assessment_at
        ),
        "most_recent_encounter_date": episode.most_recent_encounter_date,
        "lead_care_manager_name": lead.full_name if lead else None,
        "lead_care_manager_phone": _blank_to_none(lead.phone) if lead else None,
        "lead_care_manager_email": lead.email if lead else None,
        "discontinuation_date": episode.discontinued_on,
        "discontinuation_reason_code": DHCS_DISCONTINUATION_CODES.get(reason),
        "discontinuation_reason": (
            DiscontinuationReason(reason).label if reason else None
        ),
        "discontinuation_note": _blank_to_none(episode.discontinuation_note),
        "in_person_encounter_count": episode.in_person_encounter_count,
        "telephonic_video_encounter_count": episode.telephonic_video_encounter_count,
        "ecm_provider_name": provider.name if provider else None,
        "ecm_provider_npi": _blank_to_none(provider.npi) if provider else None,
        "ecm_provider_tin": _blank_to_none(provider.tin) if provider else None,
        "ecm_provider_phone": _blank_to_none(provider.phone) if provider else None,
    }


def outreach_row(attempt) -> dict:
    """One outreach attempt in the OTF's terms (fields 9-12), with our method and
    outcome beside them and the episode's status and version after it."""
    episode = attempt.episode
    return {
        "id": attempt.uuid,
        "episode_id": episode.uuid,
        "episode_status": episode.status,
        "episode_version": episode.version,
        "outreach_date": attempt.attempted_at,
        "outreach_method": attempt.method,
        "otf_outreach_method": otf_outreach_method(attempt.method),
        "outreach_successful": attempt.successful,
        "outcome": attempt.outcome,
        "outreach_minutes": attempt.minutes,
        "note": attempt.note,
        "created_at": attempt.created_at,
    }
