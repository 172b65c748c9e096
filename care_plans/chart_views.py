"""The member chart's header facts, care plan and care team panels, and the
timeline of everything that happened (an htmx partial with "load more").

Each panel's context is evaluated in the chart view (calaim.web.panels), reads
a fixed number of rows-independent queries, and shares the member's episode
with the other ECM panels (cm_views.latest_episode).
"""

from dataclasses import dataclass
from datetime import datetime, time
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from calaim.prepared import statement_cursor
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
    Episode,
    EpisodeEvent,
    EpisodeStatus,
    Notice,
    OutreachAttempt,
)
from care_plans.services.care_plans import EDITABLE_EPISODE_STATUSES
from members.access import access_member
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
    populations of focus, consent flags: the shared episode, and the member's
    population and consent rows the populations and consents panels read too
    (each read once per request)."""
    from members.consent_views import chart_consents
    from members.views import member_populations

    episode = latest_episode(request, member)
    today = timezone.localdate()
    current = [
        row.population.name
        for row in member_populations(request, member)
        if row.start_date <= today and (row.end_date is None or row.end_date >= today)
    ]
    return {
        "episode": episode,
        "populations": sorted(current, key=str.casefold),
        "consents": consent_flags(member, rows=chart_consents(request, member)),
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
            suggestions=suggested_needs_for(member, request=request), member=member
        )
        context["start_url"] = reverse("careplan_start", args=[member.uuid])
    return context


def suggested_needs_for(member, *, request=None) -> list[dict]:
    """Needs the member's latest completed assessment suggests, for a new plan
    (care_plans.assessments' selector); none before an assessment exists.

    On the chart the assessment panel has read the member's assessments already
    (`request`): when that list is whole and holds no completed one, there is
    nothing to read."""
    from care_plans.assessments import selectors as assessments

    latest = getattr(assessments, "latest_completed_assessment", None)
    if latest is None:
        return []
    known = getattr(request, "_chart_assessments", {}).get(member.pk)
    if (
        known is not None
        and len(known) < assessments.HISTORY_LIMIT
        and all(row.is_draft for row in known)
    ):
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


# Every built-in source in one query: each branch is one source's newest `limit`
# rows in its own order (as the per-source queries were), `src` keeps the
# sources' order for the merge. `before` narrows each branch as the cursor
# requires: a timestamp before it, a date whose local midnight is before it, a
# version started or agreed (an assessment started or completed) before it.
_TIMELINE_SQL = """
(SELECT 0 AS src, row_number() OVER (ORDER BY a.started_at DESC, a.id DESC) AS n,
    a.started_at AS at, a.completed_at AS at2, NULL::date AS day,
    NULL::text AS t1, t.name AS t2, NULL::text AS t3, NULL::text AS t4,
    NULL::int AS num, NULL::text[] AS arr, su.full_name AS by1, cu.full_name AS by2,
    a.completed_by_id IS NOT NULL AS flag, NULL::date AS day2
  FROM {assessment} a JOIN {template} t ON t.id = a.template_id
  LEFT JOIN {user} su ON su.id = a.started_by_id
  LEFT JOIN {user} cu ON cu.id = a.completed_by_id
  WHERE a.member_id = %(member)s
    AND (%(before)s::timestamptz IS NULL OR a.started_at < %(before)s
         OR a.completed_at < %(before)s)
  ORDER BY a.started_at DESC, a.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 1, row_number() OVER (ORDER BY c.start_date DESC, c.id DESC), c.revoked_at,
    NULL, c.start_date, c.kind, NULL, NULL, NULL, NULL, NULL, u.full_name, NULL,
    NULL, c.end_date
  FROM {consent} c LEFT JOIN {user} u ON u.id = c.recorded_by_id
  WHERE c.member_id = %(member)s
    AND (%(day)s::date IS NULL OR c.start_date < %(day)s
         OR (%(same_day)s AND c.start_date = %(day)s))
  ORDER BY c.start_date DESC, c.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 2, row_number() OVER (ORDER BY ev.occurred_at DESC, ev.id DESC),
    ev.occurred_at, NULL, NULL, ev.action, ev.from_status, ev.to_status, ev.reason,
    NULL, NULL, u.full_name, NULL, NULL, NULL
  FROM {event} ev JOIN {episode} e ON e.id = ev.episode_id
  LEFT JOIN {user} u ON u.id = ev.actor_id
  WHERE e.member_id = %(member)s
    AND (%(before)s::timestamptz IS NULL OR ev.occurred_at < %(before)s)
  ORDER BY ev.occurred_at DESC, ev.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 3, row_number() OVER (ORDER BY o.attempted_at DESC, o.id DESC),
    o.attempted_at, NULL, NULL, o.method, o.outcome, NULL, NULL, o.minutes, NULL,
    u.full_name, NULL, NULL, NULL
  FROM {outreach} o JOIN {episode} e ON e.id = o.episode_id
  LEFT JOIN {user} u ON u.id = o.staff_id
  WHERE e.member_id = %(member)s
    AND (%(before)s::timestamptz IS NULL OR o.attempted_at < %(before)s)
  ORDER BY o.attempted_at DESC, o.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 4, row_number() OVER (ORDER BY x.occurred_on DESC, x.id DESC), NULL, NULL,
    x.occurred_on, x.mode, x.hcpcs_code, NULL, NULL, x.minutes, x.modifiers,
    u.full_name, NULL, NULL, NULL
  FROM {encounter} x JOIN {episode} e ON e.id = x.episode_id
  LEFT JOIN {user} u ON u.id = x.staff_id
  WHERE e.member_id = %(member)s
    AND (%(day)s::date IS NULL OR x.occurred_on < %(day)s
         OR (%(same_day)s AND x.occurred_on = %(day)s))
  ORDER BY x.occurred_on DESC, x.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 5, row_number() OVER (ORDER BY p.created_at DESC, p.id DESC), p.created_at,
    p.agreed_at, p.member_agreed_on, NULL, NULL, NULL, NULL, p.number, NULL,
    cu.full_name, au.full_name, NULL, NULL
  FROM {care_plan} p LEFT JOIN {user} cu ON cu.id = p.created_by_id
  LEFT JOIN {user} au ON au.id = p.agreed_by_id
  WHERE p.member_id = %(member)s
    AND (%(before)s::timestamptz IS NULL OR p.created_at < %(before)s
         OR p.agreed_at < %(before)s)
  ORDER BY p.created_at DESC, p.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 6, row_number() OVER (ORDER BY c.held_on DESC, c.id DESC), NULL, NULL,
    c.held_on, c.attendees, NULL, NULL, NULL, NULL, NULL, u.full_name, NULL, NULL, NULL
  FROM {conference} c LEFT JOIN {user} u ON u.id = c.recorded_by_id
  WHERE c.member_id = %(member)s
    AND (%(day)s::date IS NULL OR c.held_on < %(day)s
         OR (%(same_day)s AND c.held_on = %(day)s))
  ORDER BY c.held_on DESC, c.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 7, row_number() OVER (ORDER BY t.added_at DESC, t.id DESC), t.added_at,
    NULL, NULL, CASE WHEN t.user_id IS NOT NULL THEN u.full_name ELSE t.name END,
    t.role, NULL, NULL, NULL, NULL, au.full_name, NULL, NULL, NULL
  FROM {team} t LEFT JOIN {user} u ON u.id = t.user_id
  LEFT JOIN {user} au ON au.id = t.added_by_id
  WHERE t.member_id = %(member)s
    AND (%(before)s::timestamptz IS NULL OR t.added_at < %(before)s)
  ORDER BY t.added_at DESC, t.id DESC LIMIT %(limit)s)
UNION ALL
(SELECT 8, row_number() OVER (ORDER BY x.created_at DESC, x.id DESC), x.created_at,
    NULL, NULL, x.kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM {notice} x JOIN {episode} e ON e.id = x.episode_id
  WHERE e.member_id = %(member)s
    AND (%(before)s::timestamptz IS NULL OR x.created_at < %(before)s)
  ORDER BY x.created_at DESC, x.id DESC LIMIT %(limit)s)
ORDER BY src, n"""


@cache
def _timeline_sql() -> str:
    from care_plans.assessments.models import Assessment, AssessmentTemplate
    from members.models import Consent

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    return _TIMELINE_SQL.format(
        assessment=table(Assessment),
        template=table(AssessmentTemplate),
        user=table(get_user_model()),
        consent=table(Consent),
        event=table(EpisodeEvent),
        episode=table(Episode),
        outreach=table(OutreachAttempt),
        encounter=table(Encounter),
        care_plan=table(CarePlan),
        conference=table(CareConference),
        team=table(CareTeamMember),
        notice=table(Notice),
    )


@cache
def _timeline_labels() -> dict:
    from members.models import Consent

    def labels(model, name) -> dict:
        return dict(model._meta.get_field(name).flatchoices)

    return {
        "status": dict(EpisodeStatus.choices),
        "method": labels(OutreachAttempt, "method"),
        "outcome": labels(OutreachAttempt, "outcome"),
        "mode": labels(Encounter, "mode"),
        "consent": labels(Consent, "kind"),
        "role": labels(CareTeamMember, "role"),
        "notice": labels(Notice, "kind"),
    }


def _day_cursor(before: datetime | None) -> tuple:
    """For the date columns: (the cursor's local day, whether that day itself
    counts): a day counts when its local midnight is before `before`."""
    if before is None:
        return None, False
    local = timezone.localtime(before)
    return local.date(), local.time() != time.min


def _builtin_entries(member, before, limit):
    """The timeline's built-in sources (assessments, consents, episode events,
    outreach, encounters, care plan versions, care conferences, the care team,
    notices), at most `limit` rows of each, in one query."""
    day, same_day = _day_cursor(before)
    # Prepared: planning this query cost several times running it.
    with statement_cursor() as cursor:
        cursor.execute(
            _timeline_sql(),
            {
                "member": member.pk,
                "before": before,
                "day": day,
                "same_day": same_day,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    labels = _timeline_labels()
    for src, _, at, at2, day, t1, t2, t3, t4, num, arr, by1, by2, flag, day2 in rows:
        if src == 0:  # assessment
            if before is None or at < before:
                yield Entry(at, "assessment", "Assessment started", t2, by1)
            if at2 and (before is None or at2 < before):
                yield Entry(
                    at2, "assessment", "Assessment completed", t2, by2 if flag else ""
                )
        elif src == 1:  # consent
            detail = f"Until {day2:%b %-d, %Y}" if day2 else ""
            if at:
                detail = f"Revoked {timezone.localtime(at):%b %-d, %Y}"
            yield Entry(
                _midnight(day),
                "consent",
                f"Consent: {labels['consent'].get(t1, t1)}",
                detail,
                by1,
            )
        elif src == 2:  # episode event
            status = labels["status"]
            moved = t2 and t2 != t3
            detail = (
                f"{status.get(t2, t2)} → {status.get(t3, t3)}"
                if moved
                else status.get(t3, t3)
            )
            if t4:
                detail = f"{detail}. {t4}"
            yield Entry(at, "episode", t1.replace("_", " ").capitalize(), detail, by1)
        elif src == 3:  # outreach
            yield Entry(
                at,
                "outreach",
                f"Outreach ({labels['method'].get(t1, t1).lower()})",
                f"{labels['outcome'].get(t2, t2)}, {num} min",
                by1,
            )
        elif src == 4:  # encounter
            yield Entry(
                _midnight(day),
                "encounter",
                f"Encounter ({labels['mode'].get(t1, t1).lower()})",
                f"{t2} {'-'.join(arr)}, {num} min",
                by1,
            )
        elif src == 5:  # care plan version
            if before is None or at < before:
                yield Entry(
                    at, "care_plan", f"Care plan version {num} started", "", by1
                )
            if at2 and (before is None or at2 < before):
                yield Entry(
                    at2,
                    "care_plan",
                    f"Care plan version {num} agreed",
                    f"Member agreed on {day:%b %-d, %Y}",
                    by2 or "",
                )
        elif src == 6:  # care conference
            yield Entry(
                _midnight(day), "conference", "Care conference", f"Attendees: {t1}", by1
            )
        elif src == 7:  # care team
            yield Entry(
                at,
                "care_team",
                f"{t1} joined the care team",
                labels["role"].get(t2, t2),
                by1,
            )
        else:  # notice
            yield Entry(at, "notice", labels["notice"].get(t1, t1), "", "")


TIMELINE_SOURCES = [_builtin_entries]


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
