"""The member chart's header facts, care plan and care team panels, and the
timeline of everything that happened (an htmx partial with "load more").

Each panel's context is evaluated in the chart view (calaim.web.panels), reads
a fixed number of rows-independent queries, and shares the member's episode
with the other ECM panels (cm_views.latest_episode).
"""

from dataclasses import dataclass
from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from calaim.web.panels import columns_shown
from care_plans import care_plan_selectors as plan_reads
from care_plans.cm_views import latest_episode
from care_plans.forms_careplan import (
    CareConferenceForm,
    CareTeamContactForm,
    CareTeamStaffForm,
    StartCarePlanForm,
)
from care_plans.models import (
    CareConference,
    CarePlan,
    CareTeamMember,
    Encounter,
    EpisodeEvent,
    EpisodeStatus,
    Notice,
    OutreachAttempt,
)
from care_plans.services.care_plans import EDITABLE_EPISODE_STATUSES
from members.access import access_member
from members.models import MemberPopulation
from members.part2 import REDISCLOSURE_NOTICE, part2_disclosure_allowed, part2_withheld
from members.selectors import consent_flags

HEADER_PANEL = "chart_header"
TIMELINE_PAGE = 15


# --- Shared per request ---------------------------------------------------------------


def part2_allowed(request, member) -> bool:
    """Whether the viewer may see the member's Part 2 content (one query, once
    per request)."""
    cache = request.__dict__.setdefault("_part2_allowed", {})
    if member.pk not in cache:
        cache[member.pk] = part2_disclosure_allowed(request.user, member)
    return cache[member.pk]


def may_edit_plan(user, episode) -> bool:
    return (
        episode is not None
        and episode.is_open
        and episode.status in EDITABLE_EPISODE_STATUSES
        and user.has_perm("care_plans.change_careplan")
        and user.organization_id is not None
        and user.organization_id == episode.ecm_provider_id
    )


def _open_episode(request, member):
    episode = latest_episode(request, member)
    return episode if episode is not None and episode.is_open else None


# --- Header ---------------------------------------------------------------------------


def header_panel(request, member):
    """The chart header's ECM facts: episode status, lead care manager, current
    populations of focus, consent flags (two queries besides the shared
    episode)."""
    episode = latest_episode(request, member)
    today = timezone.localdate()
    populations = list(
        MemberPopulation.objects.filter(member_id=member.pk, start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("population")
        .only("population__name", "member_id", "start_date", "end_date")
        .order_by("population__name")
    )
    return {
        "episode": episode,
        "populations": [row.population.name for row in populations],
        "consents": consent_flags(member),
    }


# --- Care plan ------------------------------------------------------------------------


def care_plan_panel(request, member):
    """Chart panel: the member's current care plan (the draft being worked on,
    else the agreed version) with its goals, and the way to start one."""
    episode = _open_episode(request, member)
    agreed, draft = plan_reads.current_plans(member)
    shown = draft or agreed
    context = {
        "episode": episode,
        "agreed": agreed,
        "draft": draft,
        "shown": shown,
        "can_edit": may_edit_plan(request.user, episode),
        "notice": REDISCLOSURE_NOTICE,
    }
    if shown is not None:
        content = plan_reads.plan_content(
            shown, part2_allowed=part2_allowed(request, member)
        )
        if content.withheld:
            part2_withheld(user=request.user, member=member, what="care_plan_goals")
        context["content"] = content
    elif context["can_edit"]:
        context["start_form"] = StartCarePlanForm(
            suggestions=suggested_needs_for(member), member=member
        )
        context["start_url"] = reverse("careplan_start", args=[member.uuid])
    return context


def suggested_needs_for(member) -> list[dict]:
    """Needs the member's latest completed assessment suggests, for a new plan
    (care_plans.assessments' selector); none before an assessment exists."""
    from care_plans.assessments import selectors as assessments

    latest = getattr(assessments, "latest_completed_assessment", None)
    if latest is None:
        return []
    assessment = latest(member)
    if assessment is None:
        return []
    return list(assessments.suggested_needs(assessment))


# --- Care team ------------------------------------------------------------------------


def care_team_panel(request, member):
    """Chart panel: the lead care manager, the rest of the care team, the care
    conferences, and for the provider's staff the forms to add to them."""
    episode = _open_episode(request, member)
    user = request.user
    context = {
        "episode": episode,
        "team": plan_reads.care_team_of(member),
        "conferences": plan_reads.conferences_of(member),
    }
    staff_of_provider = (
        episode is not None
        and user.organization_id is not None
        and user.organization_id == episode.ecm_provider_id
    )
    if staff_of_provider and user.has_perm("care_plans.add_careteammember"):
        context["contact_form"] = CareTeamContactForm()
        context["add_url"] = reverse("careteam_add", args=[member.uuid])
        context["can_remove"] = True
        if user.has_perm("members.grant_member_access"):
            # Adding or removing a colleague changes who has access.
            context["can_remove_staff"] = True
            context["staff_form"] = CareTeamStaffForm(episode=episode)
    if staff_of_provider and user.has_perm("care_plans.add_careconference"):
        context["conference_form"] = CareConferenceForm()
        context["conference_url"] = reverse("conference_add", args=[member.uuid])
    return context


# --- Timeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    by: str = ""


def _midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _before_day(field: str, before: datetime | None) -> Q:
    """For a date column: the days whose local midnight is before `before`."""
    if before is None:
        return Q()
    local = timezone.localtime(before)
    day = local.date()
    if local.time() == time.min:
        return Q(**{f"{field}__lt": day})
    return Q(**{f"{field}__lte": day})


def _before(field: str, before: datetime | None) -> Q:
    return Q(**{f"{field}__lt": before}) if before is not None else Q()


def _episode_entries(member, before, limit):
    labels = dict(EpisodeStatus.choices)
    rows = (
        EpisodeEvent.objects.filter(_before("occurred_at", before))
        .filter(episode__member_id=member.pk)
        .select_related("actor")
        .only(*columns_shown(EpisodeEvent, "actor__full_name"))
        .order_by("-occurred_at", "-pk")[:limit]
    )
    for event in rows:
        moved = event.from_status and event.from_status != event.to_status
        detail = (
            f"{labels.get(event.from_status, event.from_status)} → "
            f"{labels.get(event.to_status, event.to_status)}"
            if moved
            else labels.get(event.to_status, event.to_status)
        )
        if event.reason:
            detail = f"{detail}. {event.reason}"
        yield Entry(
            event.occurred_at,
            "episode",
            event.action.replace("_", " ").capitalize(),
            detail,
            event.actor.full_name,
        )


def _outreach_entries(member, before, limit):
    rows = (
        OutreachAttempt.objects.filter(_before("attempted_at", before))
        .filter(episode__member_id=member.pk)
        .select_related("staff")
        .only(*columns_shown(OutreachAttempt, "staff__full_name"))
        .order_by("-attempted_at", "-pk")[:limit]
    )
    for row in rows:
        yield Entry(
            row.attempted_at,
            "outreach",
            f"Outreach ({row.get_method_display().lower()})",
            f"{row.get_outcome_display()}, {row.minutes} min",
            row.staff.full_name,
        )


def _encounter_entries(member, before, limit):
    rows = (
        Encounter.objects.filter(_before_day("occurred_on", before))
        .filter(episode__member_id=member.pk)
        .select_related("staff")
        .only(*columns_shown(Encounter, "staff__full_name"))
        .order_by("-occurred_on", "-pk")[:limit]
    )
    for row in rows:
        yield Entry(
            _midnight(row.occurred_on),
            "encounter",
            f"Encounter ({row.get_mode_display().lower()})",
            f"{row.hcpcs_code} {'-'.join(row.modifiers)}, {row.minutes} min",
            row.staff.full_name,
        )


def _care_plan_entries(member, before, limit):
    rows = CarePlan.objects.filter(member_id=member.pk)
    if before is not None:
        # A version started before the cursor, or agreed before it.
        rows = rows.filter(Q(created_at__lt=before) | Q(agreed_at__lt=before))
    rows = (
        rows.select_related("created_by", "agreed_by")
        .only(*columns_shown(CarePlan, "created_by__full_name", "agreed_by__full_name"))
        .order_by("-created_at", "-pk")[:limit]
    )
    for plan in rows:
        if before is None or plan.created_at < before:
            yield Entry(
                plan.created_at,
                "care_plan",
                f"Care plan version {plan.number} started",
                "",
                plan.created_by.full_name,
            )
        if plan.agreed_at and (before is None or plan.agreed_at < before):
            yield Entry(
                plan.agreed_at,
                "care_plan",
                f"Care plan version {plan.number} agreed",
                f"Member agreed on {plan.member_agreed_on:%b %-d, %Y}",
                plan.agreed_by.full_name if plan.agreed_by else "",
            )


def _conference_entries(member, before, limit):
    rows = (
        CareConference.objects.filter(_before_day("held_on", before))
        .filter(member_id=member.pk)
        .select_related("recorded_by")
        .only(*columns_shown(CareConference, "recorded_by__full_name"))
        .order_by("-held_on", "-pk")[:limit]
    )
    for row in rows:
        yield Entry(
            _midnight(row.held_on),
            "conference",
            "Care conference",
            f"Attendees: {row.attendees}",
            row.recorded_by.full_name,
        )


def _care_team_entries(member, before, limit):
    rows = (
        CareTeamMember.objects.filter(member_id=member.pk)
        .filter(_before("added_at", before))
        .select_related("user", "added_by")
        .order_by("-added_at", "-pk")[:limit]
    )
    for row in rows:
        yield Entry(
            row.added_at,
            "care_team",
            f"{row.display_name} joined the care team",
            row.get_role_display(),
            row.added_by.full_name,
        )


def _notice_entries(member, before, limit):
    rows = (
        Notice.objects.filter(episode__member_id=member.pk)
        .filter(_before("created_at", before))
        .defer("html")
        .order_by("-created_at", "-pk")[:limit]
    )
    for row in rows:
        yield Entry(row.created_at, "notice", row.get_kind_display(), "", "")


def _assessment_entries(member, before, limit):
    from care_plans.assessments.models import Assessment

    rows = Assessment.objects.filter(member_id=member.pk)
    if before is not None:
        rows = rows.filter(Q(started_at__lt=before) | Q(completed_at__lt=before))
    rows = (
        rows.select_related("template", "started_by", "completed_by")
        .only(
            "started_at",
            "completed_at",
            "status",
            "template__name",
            "started_by__full_name",
            "completed_by__full_name",
        )
        .order_by("-started_at", "-pk")[:limit]
    )
    for row in rows:
        if before is None or row.started_at < before:
            yield Entry(
                row.started_at,
                "assessment",
                "Assessment started",
                row.template.name,
                row.started_by.full_name,
            )
        if row.completed_at and (before is None or row.completed_at < before):
            yield Entry(
                row.completed_at,
                "assessment",
                "Assessment completed",
                row.template.name,
                row.completed_by.full_name if row.completed_by_id else "",
            )


def _consent_entries(member, before, limit):
    from members.models import Consent

    rows = (
        Consent.objects.filter(member_id=member.pk)
        .filter(_before_day("start_date", before))
        .select_related("recorded_by")
        .only("kind", "start_date", "end_date", "revoked_at", "recorded_by__full_name")
        .order_by("-start_date", "-pk")[:limit]
    )
    for row in rows:
        detail = f"Until {row.end_date:%b %-d, %Y}" if row.end_date else ""
        if row.revoked_at:
            detail = f"Revoked {timezone.localtime(row.revoked_at):%b %-d, %Y}"
        yield Entry(
            _midnight(row.start_date),
            "consent",
            f"Consent: {row.get_kind_display()}",
            detail,
            row.recorded_by.full_name,
        )


TIMELINE_SOURCES = [
    _assessment_entries,
    _consent_entries,
    _episode_entries,
    _outreach_entries,
    _encounter_entries,
    _care_plan_entries,
    _conference_entries,
    _care_team_entries,
    _notice_entries,
]


def register_timeline_source(func) -> None:
    """Add `func(member, before, limit) -> iterable of Entry` to the timeline
    (assessments, consents, transitions add theirs); one query each."""
    if func not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(func)


def timeline(member, *, before=None, limit=TIMELINE_PAGE) -> tuple[list, object]:
    """The newest `limit` entries before `before`, and the cursor for the next
    page (None at the end). One query per source, whatever the history's size:
    each source gives at most limit + 1 rows and the merge keeps `limit`."""
    entries = []
    for source in TIMELINE_SOURCES:
        entries.extend(source(member, before, limit + 1))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return page, (page[-1].at if more and page else None)


def timeline_panel(request, member):
    """Chart panel: the timeline's first page."""
    entries, cursor = timeline(member)
    return {"entries": entries, "next_url": _next_url(member, cursor)}


def _next_url(member, cursor) -> str:
    if cursor is None:
        return ""
    url = reverse("chart_timeline", args=[member.uuid])
    return f"{url}?before={cursor.isoformat().replace('+', '%2B')}"


@login_required
@require_GET
def timeline_more(request, member_uuid):
    """The next page of the timeline (htmx partial; a whole page without htmx)."""
    member = access_member(request.user, member_uuid)
    before = parse_datetime(request.GET.get("before", "") or "")
    if before is not None and timezone.is_naive(before):
        before = timezone.make_aware(before)
    entries, cursor = timeline(member, before=before)
    return render(
        request,
        "care_plans/chart/_timeline_rows.html",
        {"entries": entries, "next_url": _next_url(member, cursor), "member": member},
    )
