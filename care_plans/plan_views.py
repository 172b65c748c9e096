"""The plan administrator's ECM screens: identify a member, the authorization
queue, the decision, the assignment to a provider and lead care manager, and the
printable notices.

Every page about one episode fetches it through care_plans.access.access_episode
(404 when missing or not visible), then checks the role (403) and that the
episode is the user's plan's (404 otherwise, as the services do). The writes are
the services of care_plans.services; their ValidationError becomes form errors
(400, nothing written) and their ConflictError a 409 page saying what changed.
"""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.web.panels import first_and_count
from care_plans import selectors
from care_plans.access import access_episode, access_notice
from care_plans.forms_plan import (
    AssignForm,
    AuthorizeForm,
    DenyForm,
    IdentifyForm,
    MarkSentForm,
    default_authorization_dates,
)
from care_plans.models import Episode, EpisodeStatus, Notice
from care_plans.services import (
    episode_assign,
    episode_authorize,
    episode_deny,
    episode_identify,
    notice_mark_sent,
    providers_with_capacity,
)
from members.access import access_member

S = EpisodeStatus
ADD = "care_plans.add_episode"
AUTHORIZE = "care_plans.authorize_episode"
ASSIGN = "care_plans.assign_episode"
SENT_METHODS = dict(MarkSentForm.base_fields["method"].choices)
# A queue shows this many rows; the heading says how many there are in all.
QUEUE_LIMIT = 200

# Waiting for the plan's decision: not decided yet, or only presumptively
# authorized by a provider (the plan's clock keeps running, DOMAIN.md §10b).
AWAITING_DECISION = Q(status__in=[S.IDENTIFIED, S.AUTHORIZATION_REQUESTED]) | Q(
    status=S.AUTHORIZED, presumptive_by__isnull=False, decided_at__isnull=True
)
STATUS_FILTERS = {
    "identified": Q(status=S.IDENTIFIED),
    "authorization_requested": Q(status=S.AUTHORIZATION_REQUESTED),
    "presumptive": Q(status=S.AUTHORIZED, presumptive_by__isnull=False),
}
STATUS_FILTER_LABELS = {
    "identified": "Identified",
    "authorization_requested": "Authorization requested",
    "presumptive": "Presumptively authorized",
}


# --- Reads ------------------------------------------------------------------------
# Scoped like care_plans.selectors: the user's plan, and the access registry.


def _plan_episodes(user) -> QuerySet[Episode]:
    """Open episodes of the user's plan whose members the user may see."""
    organization = user.organization
    if organization is None or not organization.is_plan:
        return Episode.objects.none()
    return Episode.objects.filter(
        plan_id=organization.pk,
        closed_at__isnull=True,
        member_id__in=registry.visible_member_ids(user),
    )


def authorization_queue_for(user) -> QuerySet[Episode]:
    """The plan's episodes awaiting a decision, least time left first (those
    without a clock last)."""
    return (
        _plan_episodes(user)
        .filter(AWAITING_DECISION)
        .select_related("member", "population", "presumptive_by")
        .order_by(F("authorization_due_at").asc(nulls_last=True), "opened_at", "pk")
    )


def assignment_queue_for(user) -> QuerySet[Episode]:
    """The plan's authorized episodes without a lead care manager, longest
    waiting first."""
    return (
        _plan_episodes(user)
        .filter(status=S.AUTHORIZED, lead_care_manager__isnull=True)
        .select_related("member", "population", "presumptive_by", "ecm_provider")
        .order_by(F("authorized_from").asc(nulls_last=True), "opened_at", "pk")
    )


def care_managers_of(provider) -> QuerySet:
    """The provider's active care managers, each with the number of open
    episodes they lead (one query)."""
    return (
        get_user_model()
        .objects.filter(
            organization_id=provider.pk,
            is_active=True,
            is_service_account=False,
            groups__name=roles.CARE_MANAGER,
        )
        .annotate(
            caseload=Count(
                "lead_episodes", filter=Q(lead_episodes__closed_at__isnull=True)
            )
        )
        .order_by("full_name", "pk")
    )


# --- Small helpers ----------------------------------------------------------------


def time_left(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """How long until a clock runs out, in words a queue can show:
    ("Due in 2 days", False) or ("Overdue by 3 h", True)."""
    if due is None:
        return "No clock", False
    seconds = (due - now).total_seconds()
    overdue = seconds < 0
    seconds = abs(seconds)
    if seconds < 3600:
        amount = f"{max(1, int(seconds // 60))} min"
    elif seconds < 48 * 3600:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} days"
    return (f"Overdue by {amount}" if overdue else f"Due in {amount}"), overdue


def awaiting_decision(episode: Episode) -> bool:
    return episode.status in (S.IDENTIFIED, S.AUTHORIZATION_REQUESTED) or (
        episode.status == S.AUTHORIZED
        and episode.presumptive_by_id is not None
        and episode.decided_at is None
    )


def _plan_episode(request, episode_uuid, permission: str) -> Episode:
    """The episode for a decision or an assignment: 404 unless visible, 403 without
    the permission, 404 unless it is the user's plan's (a plan administrator may
    see a member another plan is now responsible for)."""
    episode = access_episode(request.user, episode_uuid)
    registry.require_permission(request.user, permission)
    if request.user.organization_id != episode.plan_id:
        raise Http404("No such episode.")
    return episode


def _latest_notice(episode: Episode, kind: str) -> Notice | None:
    return episode.notices.filter(kind=kind).order_by("-created_at", "-pk").first()


def _audit_list(request, object_type: str, episodes) -> None:
    """A queue shows names and CINs: recorded as a view of those members."""
    if episodes:
        audit_record(
            action="view",
            object_type=object_type,
            member_ids=[episode.member_id for episode in episodes],
            actor=request.user,
        )


# --- Identify -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def identify(request, member_uuid):
    """Identify a member for ECM: source, population of focus, urgency.

    The service also requests authorization, which starts the plan's clock, so
    the plan administrator lands on the authorization queue.
    """
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, ADD)
    today = timezone.localdate()
    form = IdentifyForm(
        request.POST if request.method == "POST" else None,
        member=member,
        may_use_plan_data=request.user.has_role(roles.PLAN_ADMIN),
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                episode_identify(member=member, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_service_errors(error)
            except ConflictError as conflict:
                form.add_error(None, conflict.message)
                status = 409
            else:
                messages.success(
                    request,
                    f"{member.first_name} {member.last_name} was identified for ECM; "
                    "authorization is requested.",
                )
                if request.user.has_perm(AUTHORIZE):
                    return redirect("ecm_authorization_queue")
                return redirect("member_chart", member_uuid=member.uuid)
    return render(
        request,
        "care_plans/plan/identify.html",
        {
            "member": member,
            "age": member.age_on(today),
            "form": form,
            "open_episode": selectors.open_episode_for(member),
        },
        status=status,
    )


# --- The queues -----------------------------------------------------------------


@login_required
@require_GET
def authorization_queue(request):
    """The plan's episodes awaiting a decision, least time left first; breaches
    (past due) flagged. Filter by urgency and status."""
    registry.require_permission(request.user, AUTHORIZE)
    episodes = authorization_queue_for(request.user)
    urgency = request.GET.get("urgency", "")
    if urgency in Episode.Urgency.values:
        episodes = episodes.filter(urgency=urgency)
    else:
        urgency = ""
    status = request.GET.get("status", "")
    if status in STATUS_FILTERS:
        episodes = episodes.filter(STATUS_FILTERS[status])
    else:
        status = ""
    rows, count = first_and_count(episodes, QUEUE_LIMIT)
    now = timezone.now()
    for episode in rows:
        episode.time_left, episode.breached = time_left(
            episode.authorization_due_at, now
        )
    _audit_list(request, "ecm_authorization_queue", rows)
    return render(
        request,
        "care_plans/plan/authorization_queue.html",
        {
            "episodes": rows,
            "count": count,
            "breaches": sum(episode.breached for episode in rows),
            "urgency": urgency,
            "status": status,
            "urgencies": Episode.Urgency.choices,
            "statuses": list(STATUS_FILTER_LABELS.items()),
            "filtered": bool(urgency or status),
        },
    )


@login_required
@require_GET
def assignment_queue(request):
    """The plan's authorized episodes still without a provider and lead care
    manager, longest waiting first."""
    registry.require_permission(request.user, ASSIGN)
    rows, count = first_and_count(assignment_queue_for(request.user), QUEUE_LIMIT)
    _audit_list(request, "ecm_assignment_queue", rows)
    return render(
        request,
        "care_plans/plan/assignment_queue.html",
        {"episodes": rows, "count": count},
    )


# --- Decide ---------------------------------------------------------------------


def _decision_page(request, episode, form, template, status=200, conflict=None):
    due, breached = time_left(episode.authorization_due_at, timezone.now())
    return render(
        request,
        template,
        {
            "episode": episode,
            "member": episode.member,
            "form": form,
            "awaiting": awaiting_decision(episode),
            "time_left": due,
            "breached": breached,
            "conflict": conflict,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def authorize(request, episode_uuid):
    """Authorize ECM: a number and the period; on a presumptively authorized
    episode this confirms the provider's decision."""
    episode = _plan_episode(request, episode_uuid, AUTHORIZE)
    template = "care_plans/plan/authorize.html"
    if request.method == "GET":
        start, end = default_authorization_dates(timezone.localdate())
        form = AuthorizeForm(
            initial={
                "version": episode.version,
                "authorized_from": start,
                "authorized_through": end,
            }
        )
        return _decision_page(request, episode, form, template)
    form = AuthorizeForm(request.POST)
    if not form.is_valid():
        return _decision_page(request, episode, form, template, status=400)
    data = form.cleaned_data
    try:
        episode = episode_authorize(
            episode=episode,
            actor=request.user,
            authorization_number=data["authorization_number"],
            authorized_from=data["authorized_from"],
            authorized_through=data["authorized_through"],
            expected_version=data["version"],
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return _decision_page(request, episode, form, template, status=400)
    except ConflictError as conflict:
        return _decision_page(
            request, episode, form, template, status=409, conflict=conflict.message
        )
    member = episode.member
    messages.success(
        request,
        f"ECM authorized for {member.first_name} {member.last_name} "
        f"({episode.authorization_number}). Now assign a provider.",
    )
    if request.user.has_perm(ASSIGN) and episode.lead_care_manager_id is None:
        return redirect("ecm_assign", episode_uuid=episode.uuid)
    return redirect("ecm_authorization_queue")


@login_required
@require_http_methods(["GET", "POST"])
def deny(request, episode_uuid):
    """Deny ECM with a reason; the member's notice of action opens to be printed
    and sent."""
    episode = _plan_episode(request, episode_uuid, AUTHORIZE)
    template = "care_plans/plan/deny.html"
    if request.method == "GET":
        form = DenyForm(initial={"version": episode.version})
        return _decision_page(request, episode, form, template)
    form = DenyForm(request.POST)
    if not form.is_valid():
        return _decision_page(request, episode, form, template, status=400)
    try:
        episode = episode_deny(
            episode=episode,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return _decision_page(request, episode, form, template, status=400)
    except ConflictError as conflict:
        return _decision_page(
            request, episode, form, template, status=409, conflict=conflict.message
        )
    member = episode.member
    messages.success(
        request,
        f"ECM denied for {member.first_name} {member.last_name}. Print the notice "
        "of action below and record how it was sent.",
    )
    notice = _latest_notice(episode, Notice.Kind.DENIAL)
    if notice is None:
        return redirect("ecm_authorization_queue")
    return redirect("ecm_notice", notice_uuid=notice.uuid)


# --- Assign ---------------------------------------------------------------------


def _capacity_rows(episode: Episode) -> list:
    """The contracts of the assignment screen, each with its free places.

    An episode a provider presumptively authorized already counts against that
    provider, but it is the one being placed, so it does not take a place.
    """
    contracts = list(providers_with_capacity(episode))
    for contract in contracts:
        taken = contract.open_episodes
        if episode.ecm_provider_id == contract.provider_id:
            taken -= 1
        contract.taken = max(taken, 0)
        if contract.capacity is None:
            contract.free = None
            contract.full = False
        else:
            contract.free = max(contract.capacity - contract.taken, 0)
            contract.full = contract.free == 0
    return contracts


@login_required
@require_http_methods(["GET", "POST"])
def assign(request, episode_uuid):
    """Assign an authorized episode. Step 1: a contracted provider with capacity
    in the member's county (`?provider=`); step 2: one of its care managers as
    lead care manager, with their caseloads."""
    episode = _plan_episode(request, episode_uuid, ASSIGN)
    template = "care_plans/plan/assign.html"
    context = {"episode": episode, "member": episode.member}
    if episode.status != S.AUTHORIZED:
        if request.method == "POST":
            # The page was drawn while the episode waited; someone was quicker.
            context["conflict"] = _moved_on(episode)
            return render(request, template, context, status=409)
        return render(request, template, context)
    try:
        contracts = _capacity_rows(episode)
    except ValidationError as error:  # the member is not enrolled today
        context["blocked"] = " ".join(error.messages)
        return render(request, template, context, status=400)
    chosen, provider_error = _chosen_contract(request, episode, contracts)
    care_managers = care_managers_of(chosen.provider) if chosen is not None else None
    status = 400 if provider_error and request.method == "POST" else 200
    form = None
    if chosen is not None and request.method == "POST":
        form = AssignForm(request.POST, care_managers=care_managers)
        outcome = _assign_post(request, episode, chosen, form)
        if not isinstance(outcome, tuple):
            return outcome
        status, context["conflict"] = outcome
    elif chosen is not None:
        form = AssignForm(
            initial={"version": episode.version, "provider": chosen.provider.uuid},
            care_managers=care_managers,
        )
    elif request.method == "POST" and not provider_error:
        provider_error, status = "Choose a provider.", 400
    context.update(
        {
            "contracts": contracts,
            "chosen": chosen,
            "provider_error": provider_error,
            "care_managers": list(care_managers) if care_managers is not None else [],
            "form": form,
        }
    )
    return render(request, template, context, status=status)


def _moved_on(episode: Episode) -> str:
    if episode.status == S.ASSIGNED:
        lead = episode.lead_care_manager
        return (
            f"This episode was assigned a moment ago by someone else (to "
            f"{episode.ecm_provider.name}, {lead.full_name if lead else 'no lead'})."
        )
    return (
        f"This episode changed since you loaded it (it is now "
        f"{episode.get_status_display().lower()}); reload the queue."
    )


def _chosen_contract(request, episode, contracts):
    """The contract whose provider the user picked (step 1), and why not if the
    pick cannot be used. A presumptively authorized episode starts with the
    provider that authorized it."""
    by_uuid = {str(contract.provider.uuid): contract for contract in contracts}
    picked = request.POST.get("provider") or request.GET.get("provider")
    if not picked:
        return next(
            (
                contract
                for contract in contracts
                if contract.provider_id == episode.ecm_provider_id and not contract.full
            ),
            None,
        ), ""
    chosen = by_uuid.get(picked)
    if chosen is None:
        return None, "Choose one of the providers listed."
    if chosen.full:
        return None, f"{chosen.provider.name} has no free places."
    return chosen, ""


def _assign_post(request, episode, chosen, form):
    """Validate and assign: a redirect to the member's notice when done, else
    (status, conflict message or None) for the page."""
    if not form.is_valid():
        return 400, None
    try:
        assigned = episode_assign(
            episode=episode,
            provider=chosen.provider,
            lead_care_manager=form.cleaned_data["lead_care_manager"],
            actor=request.user,
            expected_version=form.cleaned_data["version"],
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return 400, None
    except ConflictError as conflict:
        return 409, conflict.message
    member, lead = assigned.member, assigned.lead_care_manager
    messages.success(
        request,
        f"{member.first_name} {member.last_name} is assigned to "
        f"{chosen.provider.name}, lead care manager {lead.full_name}. Print the "
        "member's notice below and record how it was sent.",
    )
    notice = _latest_notice(assigned, Notice.Kind.ASSIGNMENT)
    if notice is None:
        return redirect("ecm_assignment_queue")
    return redirect("ecm_notice", notice_uuid=notice.uuid)


# --- Notices --------------------------------------------------------------------


def may_mark_sent(user, episode: Episode) -> bool:
    """The plan's administrators and the assigned provider's staff send notices."""
    if user.has_role(roles.PLAN_ADMIN) and user.organization_id == episode.plan_id:
        return True
    return (
        episode.ecm_provider_id is not None
        and user.organization_id == episode.ecm_provider_id
        and user.has_role(roles.CARE_MANAGER, roles.SUPERVISOR, roles.PROVIDER_ADMIN)
    )


def _notice_page(request, notice, form, status=200):
    audit_record(
        action="view",
        object_type="ecm_notice",
        object_id=str(notice.uuid),
        member_ids=[notice.episode.member_id],
        actor=request.user,
    )
    episode = notice.episode
    return render(
        request,
        "care_plans/plan/notice.html",
        {
            "notice": notice,
            "episode": episode,
            "member": episode.member,
            "form": form,
            "may_mark_sent": may_mark_sent(request.user, episode),
            "sent_method_label": SENT_METHODS.get(
                notice.sent_method, notice.sent_method
            ),
            "back_url": _back_url(request.user, notice),
        },
        status=status,
    )


def _back_url(user, notice) -> str:
    if notice.kind == Notice.Kind.ASSIGNMENT and user.has_perm(ASSIGN):
        return reverse("ecm_assignment_queue")
    if user.has_perm(AUTHORIZE) and user.organization_id == notice.episode.plan_id:
        return reverse("ecm_authorization_queue")
    return reverse("member_chart", args=[notice.episode.member.uuid])


@login_required
@require_GET
def notice(request, notice_uuid):
    """A notice as the member (or referrer) gets it, ready to print; viewing it
    is recorded in the audit trail."""
    notice = access_notice(request.user, notice_uuid)
    return _notice_page(request, notice, MarkSentForm())


@login_required
@require_POST
def notice_sent(request, notice_uuid):
    """Record how a notice went out (once)."""
    notice = access_notice(request.user, notice_uuid)
    if not may_mark_sent(request.user, notice.episode):
        raise PermissionDenied("Only the plan or the assigned provider sends notices.")
    form = MarkSentForm(request.POST)
    if form.is_valid():
        try:
            notice_mark_sent(
                notice=notice, method=form.cleaned_data["method"], actor=request.user
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Recorded as sent to {notice.recipient}.")
            return redirect("ecm_notice", notice_uuid=notice.uuid)
    return _notice_page(request, notice, form, status=400)
