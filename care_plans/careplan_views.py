"""Care plan pages: start a plan, the plan page (edit a draft, agree, revise),
the printable plan, and the care team and conference actions from the chart.

Every POST fetches the plan (or member) through an access function (404 for a
record missing or not visible), checks the role (403), parses a form and calls
one service. A ValidationError is shown on the page (400); a ConflictError --
someone else saved the plan since this form was drawn -- answers 409 with a
merge view: the change the user tried beside the plan as saved now, and a
button that re-applies their change to the current version.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from calaim import access as registry
from calaim.accounts.models import User
from calaim.errors import ConflictError
from care_plans import care_plan_selectors as plan_reads
from care_plans import forms_careplan as forms
from care_plans import selectors
from care_plans.access import access_care_plan, access_care_team_member
from care_plans.chart_views import may_edit_plan, suggested_needs_for
from care_plans.models import CarePlan, Goal, Intervention, Need
from care_plans.services import (
    care_conference_record,
    care_plan_agree,
    care_plan_revise,
    care_plan_start,
    care_team_add,
    care_team_remove,
    goal_add,
    goal_remove,
    goal_update,
    intervention_add,
    intervention_remove,
    need_add,
    need_remove,
)
from members.access import access_member
from members.part2 import (
    REDISCLOSURE_NOTICE,
    REDISCLOSURE_NOTICE_FULL,
    part2_disclosure_allowed,
    part2_withheld,
)
from members.views import LANGUAGES


def _chart_url(member, panel="care_plan") -> str:
    return f"{reverse('member_chart', args=[member.uuid])}#panel-{panel}"


def _plan_url(care_plan) -> str:
    return reverse("careplan_detail", args=[care_plan.uuid])


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            message if field == NON_FIELD_ERRORS else f"{field}: {message}"
            for field, field_messages in error.message_dict.items()
            for message in field_messages
        ]
    return error.messages


def _form_errors(form) -> list[str]:
    return [
        message if field == NON_FIELD_ERRORS else f"{field}: {message}"
        for field, field_messages in form.errors.items()
        for message in field_messages
    ]


def _content(request, care_plan):
    allowed = part2_disclosure_allowed(request.user, care_plan.member)
    content = plan_reads.plan_content(care_plan, part2_allowed=allowed)
    if content.withheld:
        part2_withheld(
            user=request.user, member=care_plan.member, what="care_plan_goals"
        )
    return content


def _language_label(code: str) -> str:
    return LANGUAGES.get((code or "").upper(), code or "")


def _render_plan(request, care_plan, *, status=200, errors=(), conflict=None):
    """The plan page: the version's needs, goals and interventions, the forms of
    a draft for those who may edit, agreement and revision, and the versions."""
    episode = care_plan.episode
    editable = may_edit_plan(request.user, episode)
    content = _content(request, care_plan)
    versions = plan_reads.care_plans_of_episode(episode)
    context = {
        "care_plan": care_plan,
        "member": care_plan.member,
        "episode": episode,
        "content": content,
        "versions": versions,
        "editable": editable and care_plan.is_draft,
        "progress_editable": editable and care_plan.status == CarePlan.Status.AGREED,
        "can_revise": editable
        and care_plan.status == CarePlan.Status.AGREED
        and not any(version.is_draft for version in versions),
        "language": _language_label(care_plan.language),
        "notice": REDISCLOSURE_NOTICE,
        "errors": list(errors),
        "conflict": conflict,
        "chart_url": _chart_url(care_plan.member),
        "goal_statuses": forms.GoalStatusForm.base_fields["status"].choices,
        # A "Refer" link by each goal of the agreed plan, for those the referral
        # form admits (referrals.views.referral_new's permission).
        "may_refer": care_plan.status == CarePlan.Status.AGREED
        and request.user.has_perm("referrals.add_referral"),
    }
    if context["editable"]:
        _attach_item_forms(care_plan, content)
        version = {"version": care_plan.lock_version}
        context["need_form"] = forms.NeedForm(initial=version)
        context["agree_form"] = forms.AgreeForm(
            initial={"version": care_plan.lock_version}
        )
    return render(request, "care_plans/careplan/detail.html", context, status=status)


def _attach_item_forms(care_plan, content) -> None:
    """A goal form per need and an intervention form per goal, each with its own
    element ids, their menus read once (two queries, whatever the plan's size)."""
    version = {"version": care_plan.lock_version}
    staff = [("", "---------")] + [
        (user.pk, user.full_name)
        for user in User.objects.filter(
            organization_id=care_plan.episode.ecm_provider_id,
            is_active=True,
            is_service_account=False,
        ).order_by("full_name")
    ]
    contacts = [("", "---------")] + [
        (row.uuid, f"{row.display_name} ({row.get_role_display()})")
        for row in plan_reads.care_team_of(care_plan.member)
    ]
    for need in content.needs:
        need.goal_form = forms.GoalForm(initial=version, auto_id=f"goal-{need.uid}-%s")
    for goal in content.goals:
        form = forms.InterventionForm(
            initial=version, care_plan=care_plan, auto_id=f"step-{goal.uid}-%s"
        )
        form.fields["responsible_user"].choices = staff
        form.fields["responsible_contact"].choices = contacts
        goal.intervention_form = form


@login_required
@require_GET
def careplan_detail(request, care_plan_uuid):
    """The care plan page (any version)."""
    care_plan = access_care_plan(request.user, care_plan_uuid)
    registry.require_permission(request.user, "care_plans.view_careplan")
    return _render_plan(request, care_plan)


@login_required
@require_GET
def careplan_print(request, care_plan_uuid):
    """The care plan printed for the member, their language noted at the top;
    Part 2 goals only for those allowed, with the redisclosure notice."""
    care_plan = access_care_plan(request.user, care_plan_uuid)
    registry.require_permission(request.user, "care_plans.view_careplan")
    content = _content(request, care_plan)
    return render(
        request,
        "care_plans/careplan/print.html",
        {
            "care_plan": care_plan,
            "member": care_plan.member,
            "episode": care_plan.episode,
            "content": content,
            "language": _language_label(care_plan.language)
            or _language_label(care_plan.member.preferred_language),
            "team": plan_reads.care_team_of(care_plan.member),
            "notice_full": REDISCLOSURE_NOTICE_FULL,
            "printed_on": timezone.localdate(),
        },
    )


@login_required
@require_POST
def careplan_start(request, member_uuid):
    """Start the member's care plan from the ticked suggested needs."""
    member = access_member(request.user, member_uuid, audit=False)
    registry.require_permission(request.user, "care_plans.add_careplan")
    episode = selectors.open_episode_for(member)
    if episode is None:
        raise Http404("No open ECM episode.")
    form = forms.StartCarePlanForm(
        request.POST, suggestions=suggested_needs_for(member), member=member
    )
    errors, status = [], 400
    if form.is_valid():
        try:
            care_plan = care_plan_start(
                episode=episode,
                actor=request.user,
                language=form.cleaned_data["language"],
                needs=form.needs(),
            )
        except ValidationError as error:
            errors = _messages_of(error)
        except ConflictError as error:
            errors, status = [error.message], 409
        else:
            messages.success(request, "Care plan started as a draft.")
            return redirect(_plan_url(care_plan))
    else:
        errors = _form_errors(form)
    return render(
        request,
        "care_plans/careplan/problem.html",
        {"member": member, "errors": errors, "back_url": _chart_url(member)},
        status=status,
    )


# --- Changes to a plan ----------------------------------------------------------------


def _in_plan(model, uid, **lookup):
    try:
        return model.objects.select_related(*lookup.pop("related", ())).get(
            uid=uid, **lookup
        )
    except (model.DoesNotExist, ValidationError, ValueError) as missing:
        raise ValidationError(
            {"uid": ValidationError("That item is not in this plan.", code="missing")}
        ) from missing


def _need_add(care_plan, actor, data):
    return need_add(
        care_plan=care_plan,
        domain=data["domain"],
        description=data["description"],
        actor=actor,
        expected_version=data["version"],
    )


def _goal_add(care_plan, actor, data):
    return goal_add(
        care_plan=care_plan,
        need=data["need"],
        description=data["description"],
        target_date=data["target_date"],
        status=data["status"] or "not_started",
        part2=data["part2"],
        actor=actor,
        expected_version=data["version"],
    )


def _intervention_add(care_plan, actor, data):
    goal = _in_plan(Goal, data["goal"], care_plan=care_plan)
    return intervention_add(
        goal=goal,
        description=data["description"],
        responsible=data["responsible"],
        responsible_user=data["responsible_user"],
        responsible_contact=data["responsible_contact"],
        due_date=data["due_date"],
        status=data["status"] or "planned",
        actor=actor,
        expected_version=data["version"],
    )


def _remove(care_plan, actor, data):
    kind, uid, version = data["kind"], data["uid"], data["version"]
    if kind == "need":
        need = _in_plan(Need, uid, care_plan=care_plan, related=["care_plan"])
        return need_remove(need=need, actor=actor, expected_version=version)
    if kind == "goal":
        goal = _in_plan(Goal, uid, care_plan=care_plan, related=["care_plan"])
        return goal_remove(goal=goal, actor=actor, expected_version=version)
    intervention = _in_plan(
        Intervention, uid, goal__care_plan=care_plan, related=["goal"]
    )
    return intervention_remove(
        intervention=intervention, actor=actor, expected_version=version
    )


def _agree(care_plan, actor, data):
    return care_plan_agree(
        care_plan=care_plan,
        agreed_on=data["member_agreed_on"],
        actor=actor,
        expected_version=data["version"],
    )


def _revise(care_plan, actor, data):
    return care_plan_revise(
        care_plan=care_plan, actor=actor, expected_version=data["version"]
    )


ACTIONS = {
    "need_add": (forms.NeedForm, _need_add, "Need added."),
    "goal_add": (forms.GoalForm, _goal_add, "Goal added."),
    "intervention_add": (
        forms.InterventionForm,
        _intervention_add,
        "Intervention added.",
    ),
    "remove": (forms.RemoveForm, _remove, "Removed from the plan."),
    "agree": (forms.AgreeForm, _agree, "The member's agreement is recorded."),
    "revise": (forms.VersionedForm, _revise, "A new version is started as a draft."),
}


def _submitted(request, form) -> list[tuple[str, str]]:
    """What the user tried to save, as label/value pairs for the merge view."""
    shown = []
    for name, field in form.fields.items():
        if name == "version" or isinstance(field.widget, forms.forms.HiddenInput):
            continue
        value = request.POST.getlist(name) if name in request.POST else []
        if isinstance(field, forms.forms.BooleanField):
            text = "Yes" if value and value[0] in ("on", "true", "1") else "No"
        elif hasattr(field, "choices") and not isinstance(
            field, forms.forms.ModelChoiceField
        ):
            labels = {str(key): label for key, label in field.choices}
            text = ", ".join(str(labels.get(item, item)) for item in value)
        else:
            text = ", ".join(value)
        shown.append((str(field.label or name.replace("_", " ").capitalize()), text))
    return shown


def _plan_action(key: str):
    form_class, run, success = ACTIONS[key]

    @login_required
    @require_POST
    def view(request, care_plan_uuid):
        care_plan = access_care_plan(request.user, care_plan_uuid, audit=False)
        registry.require_permission(request.user, "care_plans.change_careplan")
        kwargs = (
            {"care_plan": care_plan} if form_class is forms.InterventionForm else {}
        )
        form = form_class(request.POST, **kwargs)
        if not form.is_valid():
            return _render_plan(
                request, care_plan, status=400, errors=_form_errors(form)
            )
        try:
            result = run(care_plan, request.user, form.cleaned_data)
        except ValidationError as error:
            care_plan.refresh_from_db()
            return _render_plan(
                request, care_plan, status=400, errors=_messages_of(error)
            )
        except ConflictError as error:
            care_plan.refresh_from_db()
            replay = [
                (name, value)
                for name in request.POST
                if name not in ("csrfmiddlewaretoken", "version")
                for value in request.POST.getlist(name)
            ]
            conflict = {
                "message": error.message,
                "submitted": _submitted(request, form),
                "replay": replay,
                "action": request.path,
                "version": care_plan.lock_version,
                "title": success.rstrip("."),
            }
            return _render_plan(request, care_plan, status=409, conflict=conflict)
        messages.success(request, success)
        target = result if isinstance(result, CarePlan) else care_plan
        return redirect(_plan_url(target))

    view.__name__ = f"careplan_{key}"
    view.__doc__ = f"POST: {success} (see the module docstring)."
    return view


careplan_need_add = _plan_action("need_add")
careplan_goal_add = _plan_action("goal_add")
careplan_intervention_add = _plan_action("intervention_add")
careplan_remove = _plan_action("remove")
careplan_agree = _plan_action("agree")
careplan_revise = _plan_action("revise")


@login_required
@require_POST
def careplan_goal_edit(request, care_plan_uuid, goal_uid):
    """Change a goal: everything on a draft, its status on the agreed plan."""
    care_plan = access_care_plan(request.user, care_plan_uuid, audit=False)
    registry.require_permission(request.user, "care_plans.change_careplan")
    goal = Goal.objects.filter(care_plan=care_plan, uid=goal_uid).first()
    if goal is None:
        raise Http404("No such goal.")
    form_class = forms.GoalForm if care_plan.is_draft else forms.GoalStatusForm
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_plan(request, care_plan, status=400, errors=_form_errors(form))
    data = {key: value for key, value in form.cleaned_data.items() if value != ""}
    version = data.pop("version")
    try:
        goal_update(goal=goal, actor=request.user, expected_version=version, **data)
    except ValidationError as error:
        return _render_plan(request, care_plan, status=400, errors=_messages_of(error))
    except ConflictError as error:
        care_plan.refresh_from_db()
        conflict = {
            "message": error.message,
            "submitted": _submitted(request, form),
            "replay": [
                (name, value)
                for name in request.POST
                if name not in ("csrfmiddlewaretoken", "version")
                for value in request.POST.getlist(name)
            ],
            "action": request.path,
            "version": care_plan.lock_version,
            "title": "Goal changed",
        }
        return _render_plan(request, care_plan, status=409, conflict=conflict)
    messages.success(request, "Goal saved.")
    return redirect(_plan_url(care_plan))


# --- Care team and conferences --------------------------------------------------------


def _problem(request, member, errors, status=400):
    return render(
        request,
        "care_plans/careplan/problem.html",
        {
            "member": member,
            "errors": errors,
            "back_url": _chart_url(member, "care_team"),
        },
        status=status,
    )


@login_required
@require_POST
def careteam_add(request, member_uuid):
    """Add a colleague (kind=staff) or an outside contact to the care team."""
    member = access_member(request.user, member_uuid, audit=False)
    registry.require_permission(request.user, "care_plans.add_careteammember")
    episode = selectors.open_episode_for(member)
    if episode is None:
        raise Http404("No open ECM episode.")
    if request.POST.get("kind") == "staff":
        registry.require_permission(request.user, "members.grant_member_access")
        form = forms.CareTeamStaffForm(request.POST, episode=episode)
    else:
        form = forms.CareTeamContactForm(request.POST)
    if not form.is_valid():
        return _problem(request, member, _form_errors(form))
    data = dict(form.cleaned_data)
    data.pop("kind")
    try:
        care_team_add(episode=episode, actor=request.user, **data)
    except ValidationError as error:
        return _problem(request, member, _messages_of(error))
    messages.success(request, "Added to the care team.")
    return redirect(_chart_url(member, "care_team"))


@login_required
@require_POST
def careteam_remove(request, team_member_uuid):
    """Take someone off the care team (a colleague loses the access it gave)."""
    row = access_care_team_member(request.user, team_member_uuid)
    registry.require_permission(request.user, "care_plans.delete_careteammember")
    try:
        care_team_remove(team_member=row, actor=request.user)
    except ValidationError as error:
        return _problem(request, row.member, _messages_of(error))
    messages.success(request, "Taken off the care team.")
    return redirect(_chart_url(row.member, "care_team"))


@login_required
@require_POST
def conference_add(request, member_uuid):
    """Record a care conference."""
    member = access_member(request.user, member_uuid, audit=False)
    registry.require_permission(request.user, "care_plans.add_careconference")
    episode = selectors.open_episode_for(member)
    if episode is None:
        raise Http404("No open ECM episode.")
    form = forms.CareConferenceForm(request.POST)
    if not form.is_valid():
        return _problem(request, member, _form_errors(form))
    try:
        care_conference_record(episode=episode, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _problem(request, member, _messages_of(error))
    messages.success(request, "Care conference recorded.")
    return redirect(_chart_url(member, "care_team"))
