"""The care manager's ECM screens: the caseload, the chart's ECM panels, and the
episode actions (outreach, enrollment, decline, unable to reach, encounters,
discontinuation, reassignment, covering).

Every action is a POST that fetches the episode through access_episode (404 for
a missing episode or a member the user may not see), checks the role (403),
parses a form and calls one service. A service's ValidationError is shown on the
form, field by field (400); a ConflictError (the episode changed since the form
was drawn) as a "changed since you loaded it" message (409). The services are
atomic, so an error writes nothing. Success goes back to the chart's panel, or
to the caseload when the user no longer sees the member (a closed episode takes
its lead care manager's access with it).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Window
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.prepared import prepared_list
from calaim.web.panels import columns_shown
from calaim.work.kinds import task_kind_label
from care_plans import forms_cm, selectors
from care_plans.access import access_episode
from care_plans.models import (
    Encounter,
    EncounterMode,
    Episode,
    EpisodeStatus,
    OutreachAttempt,
)
from care_plans.services import (
    encounter_record,
    episode_decline,
    episode_discontinue,
    episode_enroll,
    episode_reassign_lead,
    episode_unable_to_reach,
    outreach_record,
    outreach_rule_met,
)
from care_plans.services import episodes as episode_rules
from members.models import MemberGrant
from members.services import member_access_grant

S = EpisodeStatus
CASELOAD_PAGE_SIZE = 50
OUTREACH_STATUSES = {S.ASSIGNED, S.OUTREACH}
ENCOUNTER_STATUSES = {S.ENROLLED, S.ACTIVE}
REASSIGN_STATUSES = {S.ASSIGNED, S.OUTREACH, S.ENROLLED, S.ACTIVE}
DISCONTINUE_STATUSES = {S.AUTHORIZED, *REASSIGN_STATUSES}
OUTREACH_RULE = {
    "attempts": episode_rules.OUTREACH_MIN_ATTEMPTS,
    "methods": episode_rules.OUTREACH_MIN_METHODS,
    "days": episode_rules.OUTREACH_MIN_DAYS,
}


# --- The caseload ------------------------------------------------------------------


def _local_date(moment):
    return timezone.localdate(moment) if moment is not None else None


def _present(row) -> dict:
    """One caseload row as the template reads it, from its annotations (no
    query). Plain dicts rather than the model instances: the template engine
    tries a subscript before an attribute, and 50 rows of failed subscripts on
    models were a tenth of the page's rendering."""
    member = row.member
    contacts = [
        day
        for day in (_local_date(row.last_outreach_at), row.last_encounter_on)
        if day is not None
    ]
    outreach_rule = None
    if row.status in OUTREACH_STATUSES:
        outreach_rule = selectors.outreach_rule_state(row)
    lead = row.lead_care_manager
    return {
        "member_id": row.member_id,
        "member": {
            "uuid": member.uuid,
            "cin": member.cin,
            "last_name": member.last_name,
            "first_name": member.first_name,
            "current_populations": row.current_populations,
        },
        "status": row.status,
        "get_status_display": row.get_status_display(),
        "is_overdue": row.is_overdue,
        "last_contact": max(contacts) if contacts else None,
        "next_due_at": row.next_due_at,
        "next_due_label": task_kind_label(row.next_due_kind)
        if row.next_due_kind
        else "",
        "outreach_rule": outreach_rule,
        "lead_care_manager": {"full_name": lead.full_name} if lead else None,
    }


class _CountedPage:
    """What Paginator needs of one fetched page of rows: the total, and the
    rows at their place in the whole list."""

    def __init__(self, rows: list, offset: int, total: int):
        self.rows, self.offset, self.total = rows, offset, total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: slice) -> list:
        return self.rows[index.start - self.offset : index.stop - self.offset]


def _caseload_page(rows, number, first_page=None):
    """The requested page of `rows()` with the total from a window count over
    the same query, so the paginator needs no separate COUNT (a second run of
    the access-scoped query, and a second build of it in Python).

    A page number Paginator.get_page would correct (below 1, past the end) takes
    the ordinary two-query path, so the answer is the same. `first_page`: a
    callable giving the first page's rows with their `total` the quicker way
    (selectors.caseload_first_page), for the first page with no filter.
    """
    try:
        wanted = int(number) if number is not None else 1
    except (TypeError, ValueError):
        wanted = 1
    if wanted >= 1:
        offset = (wanted - 1) * CASELOAD_PAGE_SIZE
        if wanted == 1 and first_page is not None:
            shown = first_page()
        else:
            shown = list(
                rows().annotate(total=Window(Count("pk")))[
                    offset : offset + CASELOAD_PAGE_SIZE
                ]
            )
        if shown or wanted == 1:
            total = shown[0].total if shown else 0
            paginator = Paginator(
                _CountedPage(shown, offset, total), CASELOAD_PAGE_SIZE
            )
            return paginator.get_page(wanted)
    return Paginator(rows(), CASELOAD_PAGE_SIZE).get_page(number)


@login_required
@require_GET
def caseload(request):
    """The caseload: a care manager's own members, a supervisor's (or provider
    administrator's) organization's, with filters, overdue items first.

    Everyone else gets 403: the page is about responsibility, which only the
    ECM provider's people carry.
    """
    user = request.user
    scope = selectors.caseload_scope(user)
    if scope is None:
        raise PermissionDenied("The caseload is for an ECM provider's care team.")
    care_managers = (
        list(selectors.caseload_care_managers(user))
        if scope == "organization"
        else None
    )
    form = forms_cm.CaseloadFilterForm(request.GET or None, care_managers=care_managers)
    filters = form.filters()

    def rows():
        return selectors.caseload_rows(user, **filters)

    first_page = None
    if not any(filters.values()):
        # The page everyone opens first: the query built and compiled once.
        def first_page():
            return selectors.caseload_first_page(user, CASELOAD_PAGE_SIZE)

    page = _caseload_page(rows, request.GET.get("page"), first_page)
    page.object_list = [_present(row) for row in page]
    if page.object_list:
        audit_record(
            action="view",
            object_type="ecm_caseload",
            member_ids=[row["member_id"] for row in page],
            actor=user,
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "care_plans/cm/caseload.html",
        {
            "form": form,
            "page": page,
            "scope": scope,
            "filtered": any(form.filters().values()),
            "query": query.urlencode(),
        },
    )


# --- Chart panels (registered in CarePlansConfig.ready) ----------------------------


def latest_episode(request, member) -> Episode | None:
    """The member's open (else latest) episode, read once per request: the ECM
    panels of one chart share it."""
    cache = request.__dict__.setdefault("_ecm_latest_episode", {})
    if member.pk not in cache:
        cache[member.pk] = selectors.latest_episode_for(member)
    return cache[member.pk]


def _is_provider_staff(user, episode, permission) -> bool:
    return (
        episode is not None
        and user.has_perm(permission)
        and user.organization_id is not None
        and user.organization_id == episode.ecm_provider_id
    )


def _action_url(name, episode) -> str:
    return reverse(name, args=[episode.uuid])


def timeline_panel(request, member):
    """Chart panel: every change to the member's ECM episodes, newest first (one
    query)."""
    events = selectors.episode_events_for(member)
    labels = dict(EpisodeStatus.choices)
    for event in events:
        event.from_label = labels.get(event.from_status, event.from_status)
        event.to_label = labels.get(event.to_status, event.to_status)
        event.action_label = event.action.replace("_", " ").capitalize()
    return {"events": events}


def outreach_panel(request, member):
    """Chart panel: the outreach attempts of the member's episode, the outreach
    rule's state, and for the provider's staff the forms of this stage (record an
    attempt, enroll, decline, and unable-to-reach once the rule is met)."""
    episode = latest_episode(request, member)
    if episode is None:
        return {"episode": None}
    attempts = prepared_list(
        "care_plans.chart.outreach",
        lambda episode_id: (
            OutreachAttempt.objects.filter(episode_id=episode_id)
            .select_related("staff")
            .only(*columns_shown(OutreachAttempt, "staff__full_name"))
            .order_by("-attempted_at")
        ),
        episode.pk,
    )
    context = {
        "episode": episode,
        "attempts": attempts,
        "in_outreach": episode.is_open and episode.status in OUTREACH_STATUSES,
        "rule": OUTREACH_RULE,
    }
    if not context["in_outreach"]:
        # The rule only matters while the provider is still trying.
        return context
    rule_met, rule_why = outreach_rule_met(episode, attempts=attempts)
    context.update(rule_met=rule_met, rule_why=rule_why)
    user = request.user
    if _is_provider_staff(user, episode, "care_plans.add_outreachattempt"):
        context["outreach_form"] = forms_cm.OutreachForm()
        context["outreach_url"] = _action_url("ecm_outreach", episode)
    if _is_provider_staff(user, episode, "care_plans.enroll_episode"):
        context["enroll_form"] = forms_cm.EnrollForm(episode=episode)
        context["enroll_url"] = _action_url("ecm_enroll", episode)
        context["decline_form"] = forms_cm.DeclineForm(episode=episode)
        context["decline_url"] = _action_url("ecm_decline", episode)
        if rule_met and episode.status == S.OUTREACH:
            context["unable_form"] = forms_cm.UnableToReachForm(episode=episode)
            context["unable_url"] = _action_url("ecm_unable_to_reach", episode)
    return context


def encounters_panel(request, member):
    """Chart panel: the encounters of the member's episode with their codes, this
    month's in-person and telephonic/video counts (the RTF's), and for the
    provider's staff the form to record one. One query (the episode is shared
    with the other ECM panels)."""
    episode = latest_episode(request, member)
    if episode is None:
        return {"episode": None}
    today = timezone.localdate()
    month_start = today.replace(day=1)
    encounters = prepared_list(
        "care_plans.chart.encounters",
        lambda episode_id: (
            Encounter.objects.filter(episode_id=episode_id)
            .select_related("staff")
            .only(*columns_shown(Encounter, "staff__full_name"))
            .order_by("-occurred_on", "-pk")
        ),
        episode.pk,
    )
    # encounter_counts' split (the RTF's), counted from the rows already read.
    this_month = [e for e in encounters if month_start <= e.occurred_on <= today]
    in_person = sum(e.mode == EncounterMode.IN_PERSON for e in this_month)
    context = {
        "episode": episode,
        "encounters": encounters,
        "counts": {
            "in_person": in_person,
            "telephonic_video": len(this_month) - in_person,
        },
        "month_start": month_start,
    }
    if (
        episode.is_open
        and episode.status in ENCOUNTER_STATUSES
        and _is_provider_staff(request.user, episode, "care_plans.add_encounter")
    ):
        context["encounter_form"] = forms_cm.EncounterForm()
        context["encounter_url"] = _action_url("ecm_encounter", episode)
    return context


def notices_panel(request, member):
    """Chart panel: the notices kept on the chart and whether each was sent."""
    return {"notices": selectors.notices_for(member)}


def episode_actions_context(request, episode) -> dict:
    """The ECM episode panel's forms (discontinue, reassign, cover) for those who
    may use them, and the member's covering grants.

    Called by care_plans.views.episode_panel with the open episode (or None).
    """
    if episode is None or not episode.is_open:
        return {}
    user = request.user
    context = {}
    responsible_org = user.organization_id is not None and user.organization_id in (
        episode.ecm_provider_id,
        episode.plan_id,
    )
    if (
        responsible_org
        and episode.status in DISCONTINUE_STATUSES
        and user.has_perm("care_plans.discontinue_episode")
    ):
        context["discontinue_form"] = forms_cm.DiscontinueForm(episode=episode)
        context["discontinue_url"] = _action_url("ecm_discontinue", episode)
    if (
        responsible_org
        and episode.ecm_provider_id
        and episode.status in REASSIGN_STATUSES
        and user.has_perm("care_plans.assign_lead_care_manager")
    ):
        context["reassign_form"] = forms_cm.ReassignForm(episode=episode)
        context["reassign_url"] = _action_url("ecm_reassign", episode)
    if episode.status in REASSIGN_STATUSES and _is_provider_staff(
        user, episode, "members.grant_member_access"
    ):
        context["cover_form"] = forms_cm.CoverForm(episode=episode)
        context["cover_url"] = _action_url("ecm_cover", episode)
        context["covering"] = list(
            MemberGrant.objects.filter(
                content_object_id=episode.member_id,
                kind=MemberGrant.Kind.COVERING,
                expires_at__gt=timezone.now(),
            )
            .select_related("user")
            .order_by("expires_at")
        )
    return context


# --- Actions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One POST on an episode: who may, which form, which service."""

    title: str
    form_class: type
    permission: str
    run: Callable  # (episode, actor, cleaned_data) -> object
    success: str
    panel: str
    # Only the assigned ECM provider's staff (a plan administrator gets 403).
    provider_only: bool = True
    submit: str = "Save"


def _attach_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form, field by field."""
    renamed = getattr(form, "service_fields", {})
    found = (
        error.message_dict
        if hasattr(error, "error_dict")
        else {NON_FIELD_ERRORS: error.messages}
    )
    for key, field_messages in found.items():
        field = renamed.get(key, key)
        form.add_error(field if field in form.fields else None, field_messages)


def _chart_url(episode, panel: str) -> str:
    return f"{reverse('member_chart', args=[episode.member.uuid])}#panel-{panel}"


def _perform(request, episode_uuid, action: Action):
    episode = access_episode(request.user, episode_uuid)
    registry.require_permission(request.user, action.permission)
    if action.provider_only and (
        request.user.organization_id is None
        or request.user.organization_id != episode.ecm_provider_id
    ):
        raise PermissionDenied("Only the assigned ECM provider does this.")
    form = action.form_class(request.POST, episode=episode)
    status, conflict = 400, ""
    if form.is_valid():
        try:
            action.run(episode, request.user, form.cleaned_data)
        except ValidationError as error:
            _attach_errors(form, error)
        except ConflictError as error:
            status, conflict = 409, error.message
        else:
            messages.success(request, action.success)
            if registry.member_is_visible(request.user, episode.member_id):
                target = _chart_url(episode, action.panel)
            else:
                target = reverse("ecm_caseload")
            return redirect(target)
    episode.refresh_from_db(fields=["status", "version"])
    return render(
        request,
        "care_plans/cm/action.html",
        {
            "action": action,
            "form": form,
            "episode": episode,
            "member": episode.member,
            "conflict": conflict,
            "chart_url": _chart_url(episode, action.panel),
        },
        status=status,
    )


def _end_of_day(day):
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


ACTIONS = {
    "outreach": Action(
        title="Record an outreach attempt",
        form_class=forms_cm.OutreachForm,
        permission="care_plans.add_outreachattempt",
        run=lambda episode, actor, data: outreach_record(
            episode=episode, actor=actor, **data
        ),
        success="Outreach attempt recorded.",
        panel="ecm_outreach",
        submit="Record attempt",
    ),
    "enroll": Action(
        title="Enroll in ECM",
        form_class=forms_cm.EnrollForm,
        permission="care_plans.enroll_episode",
        run=lambda episode, actor, data: episode_enroll(
            episode=episode, actor=actor, **data
        ),
        success="The member is enrolled in ECM.",
        panel="ecm_episode",
        submit="Record consent and enroll",
    ),
    "decline": Action(
        title="Member declined ECM",
        form_class=forms_cm.DeclineForm,
        permission="care_plans.enroll_episode",
        run=lambda episode, actor, data: episode_decline(
            episode=episode, actor=actor, **data
        ),
        success="Recorded: the member declined ECM. The episode is closed.",
        panel="ecm_timeline",
        submit="Record decline",
    ),
    "unable_to_reach": Action(
        title="Close as unable to reach",
        form_class=forms_cm.UnableToReachForm,
        permission="care_plans.enroll_episode",
        run=lambda episode, actor, data: episode_unable_to_reach(
            episode=episode, actor=actor, **data
        ),
        success="The episode is closed as unable to reach.",
        panel="ecm_timeline",
        submit="Close as unable to reach",
    ),
    "encounter": Action(
        title="Record an encounter",
        form_class=forms_cm.EncounterForm,
        permission="care_plans.add_encounter",
        run=lambda episode, actor, data: encounter_record(
            episode=episode,
            actor=actor,
            occurred_on=data["occurred_on"],
            mode=data["mode"],
            minutes=data["minutes"],
            clinical=data["staff_type"] == "clinical",
            note=data["note"],
        ),
        success="Encounter recorded.",
        panel="ecm_encounters",
        submit="Record encounter",
    ),
    "discontinue": Action(
        title="Discontinue ECM",
        form_class=forms_cm.DiscontinueForm,
        permission="care_plans.discontinue_episode",
        run=lambda episode, actor, data: episode_discontinue(
            episode=episode, actor=actor, **data
        ),
        success="ECM is discontinued.",
        panel="ecm_timeline",
        provider_only=False,
        submit="Discontinue ECM",
    ),
    "reassign": Action(
        title="Reassign the lead care manager",
        form_class=forms_cm.ReassignForm,
        permission="care_plans.assign_lead_care_manager",
        run=lambda episode, actor, data: episode_reassign_lead(
            episode=episode, actor=actor, **data
        ),
        success="The lead care manager is changed.",
        panel="ecm_episode",
        provider_only=False,
        submit="Reassign",
    ),
    "cover": Action(
        title="Covering care manager",
        form_class=forms_cm.CoverForm,
        permission="members.grant_member_access",
        run=lambda episode, actor, data: member_access_grant(
            member=episode.member,
            user=data["care_manager"],
            kind=MemberGrant.Kind.COVERING,
            reason=data["reason"],
            expires_at=_end_of_day(data["until"]),
            actor=actor,
        ),
        success="Covering access granted.",
        panel="ecm_episode",
        submit="Grant covering access",
    ),
}


def _action_view(key: str):
    action = ACTIONS[key]

    @login_required
    @require_POST
    def view(request, episode_uuid):
        return _perform(request, episode_uuid, action)

    view.__name__ = f"ecm_{key}"
    view.__doc__ = f"POST: {action.title} (see the module docstring)."
    return view


episode_outreach = _action_view("outreach")
episode_enroll_view = _action_view("enroll")
episode_decline_view = _action_view("decline")
episode_unable_to_reach_view = _action_view("unable_to_reach")
episode_encounter = _action_view("encounter")
episode_discontinue_view = _action_view("discontinue")
episode_reassign = _action_view("reassign")
episode_cover = _action_view("cover")
