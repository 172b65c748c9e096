"""Pages of referrals: the chart's panel and the referral form for care
managers, the referral with its timeline, the provider's inbox, the plan's
authorization queue and open loops, the directory, and the overdue clocks.

Every action is a POST that fetches the referral through access_referral (404
for one that is missing or not the user's to see), checks the role (403),
parses a form and calls one service. A service's ValidationError goes back on
the referral page, field by field (400); a ConflictError as "changed since you
loaded it" (409). Services are atomic, so an error writes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calaim import access as registry
from calaim.accounts import roles
from calaim.accounts.models import Organization
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.web import panels
from care_plans.selectors import care_plan_goal, care_plan_goals
from community_supports.models import CommunitySupport
from members.access import access_member
from members.part2 import part2_disclosure_allowed
from referrals import forms, selectors, services, states
from referrals.access import access_referral, live_offer
from referrals.models import Offer, Referral

S = states.Status
PAGE_SIZE = 100


# --- Chart and home panels ----------------------------------------------------------


def referrals_panel(request, member):
    """Chart panel: the member's referrals the viewer may see (one query)."""
    scope = getattr(request, "chart_scope", registry.REFERRAL)
    referrals = selectors.chart_referrals(user=request.user, member=member, scope=scope)
    return {
        "referrals": referrals,
        "member": member,
        "may_refer": scope == registry.CHART
        and request.user.has_perm("referrals.add_referral"),
    }


def referral_inbox_panel(request):
    referrals, count = panels.first_and_count(
        selectors.open_referrals_received(request.user)
    )
    return {"referrals": referrals, "count": count}


# --- Creating a referral ------------------------------------------------------------


def _attach_errors(form, error: ValidationError) -> None:
    found = (
        error.message_dict
        if hasattr(error, "error_dict")
        else {NON_FIELD_ERRORS: error.messages}
    )
    for key, field_messages in found.items():
        form.add_error(key if key in form.fields else None, field_messages)


def _directory_rows(member, support) -> list:
    if support is None:
        return []
    try:
        return selectors.directory(member=member, support=support)
    except ValidationError:
        return []


def _goal_offered(form, member, goals, user) -> bool:
    """Refuse a Part 2 goal the picker withheld from `user` (as not on the plan,
    so the answer does not tell it exists). Any other uid is the service's to
    judge (unknown_goal)."""
    goal_uid = form.cleaned_data.get("goal_uid")
    if goal_uid is None or any(goal.uid == goal_uid for goal in goals):
        return True
    goal = care_plan_goal(member=member, goal_uid=goal_uid)
    if goal is None or not goal.part2 or part2_disclosure_allowed(user, member):
        return True
    form.add_error("goal_uid", "That goal is not on the member's care plan.")
    return False


@login_required
@require_http_methods(["GET", "POST"])
def referral_new(request, member_uuid):
    """Refer the member for a Community Support (care managers of the member)."""
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, "referrals.add_referral")
    try:
        span = services.enrollment_on(member, timezone.localdate())
    except ValidationError:
        span = None
    initial = {
        key: request.GET.get(key)
        for key in ("goal_uid", "support")
        if request.GET.get(key)
    }
    goals = care_plan_goals(member=member, user=request.user)
    form = forms.ReferralForm(
        request.POST if request.method == "POST" else None,
        span=span,
        goals=goals,
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and _goal_offered(form, member, goals, request.user):
            data = form.cleaned_data
            picked = next((g for g in goals if g.uid == data["goal_uid"]), None)
            if picked is None and data["goal_uid"]:
                # Not in the picker (a goal new in a draft revision, say): the
                # service still decides; its need comes with it.
                picked = care_plan_goal(member=member, goal_uid=data["goal_uid"])
            preferred = None
            if data["preferred_provider"]:
                preferred = Organization.objects.filter(
                    uuid=data["preferred_provider"]
                ).first()
            try:
                referral = services.referral_create(
                    member=member,
                    support=data["support"],
                    urgency=data["urgency"],
                    need_uid=picked.need.uid if picked else None,
                    goal_uid=data["goal_uid"],
                    note=data["note"],
                    requested_units=data["requested_units"],
                    requested_amount=data["requested_amount"],
                    requested_start=data["requested_start"],
                    requested_end=data["requested_end"],
                    preferred_provider=preferred,
                    actor=request.user,
                )
            except ValidationError as error:
                _attach_errors(form, error)
            else:
                messages.success(request, "The referral is sent.")
                return redirect("referral_detail", referral.uuid)
    support = None
    chosen = form["support"].value()
    if chosen:
        support = (
            CommunitySupport.objects.filter(pk=chosen).first()
            if str(chosen).isdigit()
            else CommunitySupport.objects.filter(code=chosen).first()
        )
    return render(
        request,
        "referrals/new.html",
        {
            "member": member,
            "form": form,
            "span": span,
            "support": support,
            "directory": _directory_rows(member, support),
        },
        status=status,
    )


# --- The referral -------------------------------------------------------------------


def _roles_on(user, referral: Referral, offer: Offer | None) -> dict:
    is_provider = (
        user.organization_id is not None
        and user.organization_id == referral.receiving_organization_id
        and user.has_perm("referrals.work_referral")
    )
    return {
        "is_provider": is_provider,
        "may_answer": is_provider and offer is not None,
        "may_authorize": user.has_perm("referrals.authorize_referral")
        and user.organization_id == referral.plan_id,
        "may_cancel": referral.is_open
        and user.has_perm("referrals.change_referral")
        and user.organization_id
        in (referral.referring_organization_id, referral.plan_id),
    }


def _detail_context(request, referral: Referral, **extra) -> dict:
    offer = live_offer(referral) if referral.is_open else None
    context = {
        "referral": referral,
        "member": referral.member,
        "offer": offer,
        "offers": selectors.offers_of(referral),
        "events": selectors.events_of(referral),
        "deliveries": list(selectors.deliveries_of(referral)),
        "notices": list(referral.notices.order_by("created_at")),
        "actions": states.allowed_actions(referral.status),
        "rtf": states.rtf_fields(referral.status),
        "status_labels": dict(S.choices),
        **_roles_on(request.user, referral, offer),
    }
    waiting = referral.authorization_status in (
        Referral.Authorization.REQUESTED,
        Referral.Authorization.PENDED,
    ) or (referral.support and referral.support.retro_authorization_allowed
          and not referral.authorization_status)  # fmt: skip
    if context["may_authorize"] and waiting:
        context["findings"] = services.limit_findings(referral)
        context.setdefault(
            "authorize_form",
            _form(
                "authorize",
                initial={
                    "expected_version": referral.version,
                    "approved_units": referral.requested_units,
                    "approved_amount": referral.requested_amount,
                    "approved_from": referral.requested_start or timezone.localdate(),
                    "approved_through": referral.requested_end,
                },
            ),
        )
    version = {"expected_version": referral.version}
    for key, action in ACTIONS.items():
        if key in ("authorize", "deliver"):
            continue
        context.setdefault(action.form_key, _form(key, initial=version))
    if context["is_provider"] and referral.status in (S.ACCEPTED, S.IN_PROGRESS):
        context.setdefault("deliver_form", _form("deliver", referral=referral))
    context["goal"] = _linked_goal(request.user, referral)
    context.update(extra)
    return context


def _linked_goal(user, referral: Referral):
    """The care-plan goal the referral serves, with its need, when it is still on
    the member's current plan and `user` may see it (a Part 2 goal only for
    those its disclosure rules allow): no query for a referral without one."""
    if referral.goal_uid is None:
        return None
    goal = care_plan_goal(member=referral.member_id, goal_uid=referral.goal_uid)
    if goal is None or (
        goal.part2 and not part2_disclosure_allowed(user, referral.member_id)
    ):
        return None
    return goal


@login_required
@require_GET
def referral_detail(request, referral_uuid):
    """The referral: what, for whom, its offers, deliveries, notices and every
    change as a timeline, with the forms the viewer may use."""
    referral = access_referral(request.user, referral_uuid)
    return render(request, "referrals/detail.html", _detail_context(request, referral))


@dataclass(frozen=True)
class Action:
    title: str
    form_class: type
    permission: str
    run: Callable  # (referral, offer, actor, data) -> object
    success: str
    needs_offer: bool = False

    @property
    def form_key(self) -> str:
        return f"{self.key}_form"

    @property
    def key(self) -> str:
        return next(key for key, action in ACTIONS.items() if action is self)


def _form(key: str, data=None, *, referral=None, initial=None):
    """The form of action `key`, its ids prefixed with the key (several forms
    share one page)."""
    form_class = ACTIONS[key].form_class
    options = {"auto_id": f"{key}_%s", "initial": initial}
    if form_class is forms.DeliveryForm:
        options["referral"] = referral
    return form_class(data, **options)


def _perform(request, referral_uuid, action: Action):
    referral = access_referral(request.user, referral_uuid)
    registry.require_permission(request.user, action.permission)
    offer = live_offer(referral)
    if (
        action.needs_offer
        and request.user.organization_id != referral.receiving_organization_id
    ):
        raise PermissionDenied("Only the provider the referral is offered to.")
    form = _form(action.key, request.POST, referral=referral)
    status, conflict = 400, ""
    if form.is_valid():
        try:
            if action.needs_offer and offer is None:
                raise ConflictError(
                    "This offer was already answered.", code="offer_already_answered"
                )
            action.run(referral, offer, request.user, form.cleaned_data, form)
        except ValidationError as error:
            _attach_errors(form, error)
        except ConflictError as error:
            status, conflict = 409, error.message
        else:
            messages.success(request, action.success)
            referral.refresh_from_db()
            from referrals.services._common import referral_visible

            if referral_visible(request.user, referral):
                return redirect("referral_detail", referral.uuid)
            if request.user.has_perm("referrals.work_referral"):
                return redirect("referral_inbox")
            return redirect("home")
    referral = selectors.get_referral(referral.uuid)
    context = _detail_context(
        request, referral, conflict=conflict, failed_action=action.title,
        **{action.form_key: form},
    )  # fmt: skip
    return render(request, "referrals/detail.html", context, status=status)


def _version(data):
    return data.get("expected_version")


ACTIONS = {
    "accept": Action(
        "Accept the referral", forms.VersionForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.offer_accept(
            offer=offer, actor=actor),
        "You accepted the referral.", needs_offer=True,
    ),
    "reject": Action(
        "Decline the referral", forms.ReasonForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.offer_reject(
            offer=offer, reason=data["reason"], actor=actor),
        "You declined the referral; it goes to the next provider.",
        needs_offer=True,
    ),
    "hold": Action(
        "Put on hold", forms.ReasonForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.referral_hold(
            referral=r, reason=data["reason"], actor=actor,
            expected_version=_version(data)),
        "The referral is on hold.",
    ),
    "resume": Action(
        "Resume", forms.VersionForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.referral_resume(
            referral=r, actor=actor, expected_version=_version(data)),
        "The referral is in progress again.",
    ),
    "deliver": Action(
        "Record a delivery", forms.DeliveryForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.delivery_record(
            referral=r, actor=actor, **form.service_data()),
        "Delivery recorded.",
    ),
    "complete": Action(
        "Complete (services received)", forms.NoteForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.referral_complete(
            referral=r, actor=actor, note=data["note"],
            expected_version=_version(data)),
        "The referral is completed: services received.",
    ),
    "fail": Action(
        "Close without service", forms.ReasonForm, "referrals.work_referral",
        lambda r, offer, actor, data, form: services.referral_fail(
            referral=r, reason=data["reason"], actor=actor,
            expected_version=_version(data)),
        "The referral is closed without service.",
    ),
    "cancel": Action(
        "Cancel the referral", forms.ReasonForm, "referrals.change_referral",
        lambda r, offer, actor, data, form: services.referral_cancel(
            referral=r, reason=data["reason"], actor=actor,
            expected_version=_version(data)),
        "The referral is cancelled.",
    ),
    "authorize": Action(
        "Authorization decision", forms.AuthorizeForm, "referrals.authorize_referral",
        lambda r, offer, actor, data, form: services.referral_authorize(
            referral=r, actor=actor, **data),
        "The decision is recorded and the notices are kept on the referral.",
    ),
    "unpend": Action(
        "Resume the authorization clock", forms.VersionForm,
        "referrals.authorize_referral",
        lambda r, offer, actor, data, form: services.referral_authorization_resume(
            referral=r, actor=actor, expected_version=_version(data)),
        "The authorization clock runs again.",
    ),
}  # fmt: skip


def _action_view(key: str):
    action = ACTIONS[key]

    @login_required
    @require_POST
    def view(request, referral_uuid):
        return _perform(request, referral_uuid, action)

    view.__name__ = f"referral_{key}"
    view.__doc__ = f"POST: {action.title} (see the module docstring)."
    return view


referral_accept = _action_view("accept")
referral_reject = _action_view("reject")
referral_hold = _action_view("hold")
referral_resume = _action_view("resume")
referral_deliver = _action_view("deliver")
referral_complete = _action_view("complete")
referral_fail = _action_view("fail")
referral_cancel = _action_view("cancel")
referral_authorize = _action_view("authorize")
referral_unpend = _action_view("unpend")


# --- Lists --------------------------------------------------------------------------


def _audit_list(user, object_type: str, member_ids) -> None:
    member_ids = sorted(set(member_ids))
    if member_ids:
        audit_record(
            action="view", object_type=object_type, member_ids=member_ids, actor=user
        )


@login_required
@require_GET
def referral_inbox(request):
    """A Community Supports provider's inbox: offers to answer, referrals to work."""
    registry.require_permission(request.user, "referrals.work_referral")
    if not request.user.organization or not request.user.organization.is_cs_provider:
        raise PermissionDenied("The inbox is for a Community Supports provider.")
    rows = list(selectors.inbox(request.user)[:PAGE_SIZE])
    _audit_list(request.user, "referral_inbox", [row.member_id for row in rows])
    now = timezone.now()
    return render(
        request,
        "referrals/inbox.html",
        {
            "offered": [row for row in rows if row.offer_status == "offered"],
            "working": [row for row in rows if row.offer_status != "offered"],
            "now": now,
        },
    )


def _require_plan_admin(user) -> None:
    registry.require_permission(user, "referrals.authorize_referral")
    if user.organization_id is None or not user.organization.is_plan:
        raise PermissionDenied("For a plan's administrators.")


@login_required
@require_GET
def referral_authorization_queue(request):
    """The plan's Community Supports authorizations, least time left first."""
    _require_plan_admin(request.user)
    rows = list(selectors.authorization_queue(request.user)[:PAGE_SIZE])
    now = timezone.now()
    for row in rows:
        row.breached = bool(row.authorization_due_at and row.authorization_due_at < now)
    _audit_list(
        request.user, "referral_authorization_queue", [r.member_id for r in rows]
    )
    return render(request, "referrals/authorization_queue.html", {"rows": rows})


@login_required
@require_GET
def referral_open_loops(request):
    """The plan's open referral loops by age and provider."""
    _require_plan_admin(request.user)
    provider = request.GET.get("provider")
    provider_id = int(provider) if provider and provider.isdigit() else None
    rows = list(selectors.open_loops(request.user, provider_id=provider_id)[:PAGE_SIZE])
    today = timezone.localdate()
    for row in rows:
        row.age_days = (today - timezone.localdate(row.created_at)).days
        row.rtf_status, row.rtf_reason = states.rtf_fields(row.status)
    _audit_list(request.user, "referral_open_loops", [r.member_id for r in rows])
    return render(
        request,
        "referrals/open_loops.html",
        {
            "rows": rows,
            "providers": selectors.open_loops_by_provider(request.user),
            "provider_id": provider_id,
        },
    )


@login_required
@require_GET
def referral_directory(request):
    """Who can serve this member for this support in their county, with the
    capacity each has left."""
    member = access_member(request.user, request.GET.get("member", ""))
    registry.require_permission(request.user, "referrals.add_referral")
    support = CommunitySupport.objects.filter(
        code=request.GET.get("support", ""), active=True
    ).first()
    if support is None:
        raise Http404("No such support.")
    return render(
        request,
        "referrals/directory.html",
        {
            "member": member,
            "support": support,
            "rows": _directory_rows(member, support),
        },
    )


@login_required
@require_GET
def referral_overdue(request):
    """The referral clocks past due in the user's organization's queue."""
    user = request.user
    if not user.has_role(roles.PLAN_ADMIN, roles.CS_PROVIDER, roles.PROVIDER_ADMIN):
        raise PermissionDenied("For plan administrators and providers.")
    tasks = list(selectors.overdue_clocks(user)[:PAGE_SIZE])
    source_ids = {}
    for task in tasks:
        source_ids.setdefault(task.source_type, set()).add(task.source_id)
    referrals = Referral.objects.in_bulk(
        [int(i) for i in source_ids.get("referrals.referral", ())]
    )
    offers = Offer.objects.select_related("referral").in_bulk(
        [int(i) for i in source_ids.get("referrals.offer", ())]
    )
    for task in tasks:
        if task.source_type == "referrals.offer":
            offer = offers.get(int(task.source_id))
            task.referral = offer.referral if offer else None
        else:
            task.referral = referrals.get(int(task.source_id))
    members = selectors.members_by_id(t.member_id for t in tasks if t.member_id)
    for task in tasks:
        task.member = members.get(task.member_id)
    _audit_list(user, "referral_overdue", members)
    return render(request, "referrals/overdue.html", {"tasks": tasks})
