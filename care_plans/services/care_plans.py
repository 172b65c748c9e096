"""The care management plan: drafts, needs, goals, interventions, agreement,
revision, and the review tasks (DOMAIN.md §10b).

Every write names the plan version it was made against (`expected_version`, the
plan's lock_version as the caller read it); the plan row is locked and a stale
version raises ConflictError("stale_version") (409), so two people editing the
same plan never overwrite each other silently. Content changes happen on a
draft; once agreed, only the progress of goals and interventions (their status)
changes in place, and anything else takes a revision (a new version whose needs
and goals keep their uids, so referrals keep pointing at them).

Who: the staff of the episode's ECM provider holding the permission, who see
the member (Http404 otherwise; PermissionDenied for a role or organization that
may not act).
"""

from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.work.models import Task, TaskStatus
from calaim.work.services import TaskAlreadyOpen, task_create, tasks_close_for_source
from care_plans.models import (
    CarePlan,
    CareTeamMember,
    Episode,
    EpisodeStatus,
    Goal,
    GoalStatus,
    Intervention,
    InterventionStatus,
    Need,
    NeedDomain,
)

REVIEW_TASK = "ecm.care_plan_review"
REVIEW_MONTHS = getattr(settings, "ECM_CARE_PLAN_REVIEW_MONTHS", 6)
REVIEW_AFTER_REQUEST_DAYS = getattr(settings, "ECM_CARE_PLAN_REVIEW_REQUEST_DAYS", 7)
EDITABLE_EPISODE_STATUSES = {EpisodeStatus.ENROLLED, EpisodeStatus.ACTIVE}
# What may change on an agreed plan without a revision: progress.
PROGRESS_FIELDS = {"status"}


# --- Shared steps -------------------------------------------------------------------


def _invalid(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _require_editor(actor, episode: Episode, permission: str) -> None:
    """The actor sees the member, holds `permission` and works for the episode's
    ECM provider; the episode is open and enrolled or active."""
    if not registry.member_is_visible(actor, episode.member_id):
        raise Http404("No such care plan.")
    registry.require_permission(actor, permission)
    if actor.organization_id is None or actor.organization_id != (
        episode.ecm_provider_id
    ):
        raise PermissionDenied("Only the member's ECM provider edits the care plan.")
    if not episode.is_open or episode.status not in EDITABLE_EPISODE_STATUSES:
        raise _invalid(
            "episode",
            "A care plan is made for an enrolled or active ECM episode.",
            "episode_not_enrolled",
        )


def _locked_plan(care_plan: CarePlan, expected_version) -> CarePlan:
    """Re-read the plan under a row lock; refuse a missing or stale version."""
    current = (
        CarePlan.objects.select_for_update()
        .select_related("episode", "member")
        .get(pk=care_plan.pk)
    )
    if expected_version is None:
        raise _invalid(
            "version", "Send the care plan version you last read.", "required"
        )
    if int(expected_version) != current.lock_version:
        raise ConflictError(
            f"This care plan changed since you loaded it (version "
            f"{expected_version}, now {current.lock_version}); your change was not "
            "saved.",
            code="stale_version",
        )
    return current


def _editable(care_plan: CarePlan, expected_version, actor, *, draft=True):
    _require_editor(actor, care_plan.episode, "care_plans.change_careplan")
    care_plan = _locked_plan(care_plan, expected_version)
    if draft and not care_plan.is_draft:
        raise _invalid(
            "care_plan",
            "This version is agreed; revise the plan to change it.",
            "not_draft",
        )
    if care_plan.status == CarePlan.Status.SUPERSEDED:
        raise _invalid(
            "care_plan", "This version was superseded by a newer one.", "superseded"
        )
    return care_plan


def _touch(care_plan: CarePlan, actor, *, what: str, action: str = "update") -> None:
    """Raise the plan's version (every change to it or its parts) and audit."""
    care_plan.lock_version += 1
    care_plan.save(update_fields=["lock_version", "updated_at"])
    audit_record(
        action=action,
        object_type="care_plan",
        object_id=str(care_plan.uuid),
        member_ids=[care_plan.member_id],
        actor=actor,
        reason=what,
    )


def _text(value, field: str, *, required=True, limit=2000) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _invalid(field, "This is required.", "required")
    if len(value) > limit:
        raise _invalid(field, f"At most {limit} characters.", "too_long")
    return value


def _choice(value, choices, field: str) -> str:
    if value not in choices.values:
        raise _invalid(field, f"Unknown value {value!r}.", "invalid_choice")
    return value


def _next_position(queryset) -> int:
    return (queryset.aggregate(top=Max("position"))["top"] or 0) + 1


# --- Plans ---------------------------------------------------------------------------


@transaction.atomic
def care_plan_start(
    *, episode: Episode, actor, language: str = "", needs=()
) -> CarePlan:
    """Start the first care plan of an episode as a draft.

    `needs`: dicts {domain, description, source, question} to begin with,
    usually the assessment's suggested needs the care manager ticked
    (care_plans.selectors.suggested_needs_for). With an agreed plan already in
    place the answer is to revise it; a second draft is refused (409).
    """
    _require_editor(actor, episode, "care_plans.add_careplan")
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    plans = CarePlan.objects.filter(episode=episode)
    if plans.filter(status=CarePlan.Status.DRAFT).exists():
        raise ConflictError(
            "A draft care plan already exists for this episode.", code="draft_exists"
        )
    if plans.filter(status=CarePlan.Status.AGREED).exists():
        raise _invalid(
            "care_plan",
            "The member already has an agreed care plan; revise it instead.",
            "plan_exists",
        )
    cleaned = [_clean_need(need) for need in needs]
    number = (plans.aggregate(top=Max("number"))["top"] or 0) + 1
    care_plan = CarePlan(
        member_id=episode.member_id,
        episode=episode,
        number=number,
        language=_text(language, "language", required=False, limit=40)
        or episode.member.preferred_language,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            care_plan.save()
    except IntegrityError as conflict:
        raise ConflictError(
            "A draft care plan already exists for this episode.", code="draft_exists"
        ) from conflict
    Need.objects.bulk_create(
        Need(care_plan=care_plan, position=index, **need)
        for index, need in enumerate(cleaned, start=1)
    )
    audit_record(
        action="create",
        object_type="care_plan",
        object_id=str(care_plan.uuid),
        member_ids=[care_plan.member_id],
        actor=actor,
        reason=f"version {number} started with {len(cleaned)} needs",
    )
    return care_plan


def _clean_need(data: dict) -> dict:
    source = data.get("source") or Need.Source.MANUAL
    return {
        "domain": _choice(data.get("domain"), NeedDomain, "domain"),
        "description": _text(data.get("description"), "description"),
        "source": _choice(source, Need.Source, "source"),
        "question": _text(data.get("question"), "question", required=False, limit=100),
    }


@transaction.atomic
def care_plan_update(
    *, care_plan: CarePlan, actor, expected_version, language: str
) -> CarePlan:
    """Change a draft's own fields (the language it is discussed in)."""
    care_plan = _editable(care_plan, expected_version, actor)
    care_plan.language = _text(language, "language", required=False, limit=40)
    care_plan.save(update_fields=["language", "updated_at"])
    _touch(care_plan, actor, what="language")
    return care_plan


def _end_of_day(day: date):
    return timezone.make_aware(datetime.combine(day, time(17, 0)))


@transaction.atomic
def care_plan_agree(
    *, care_plan: CarePlan, agreed_on: date, actor, expected_version
) -> CarePlan:
    """Record the member's agreement to a draft.

    The version agreed before is superseded; its review task closes and a new
    one opens, due in six months (DOMAIN.md §10b). Agreeing the episode's first
    plan makes an enrolled episode active. A plan with no goal cannot be agreed;
    a plan agreed already says so.
    """
    _require_editor(actor, care_plan.episode, "care_plans.change_careplan")
    care_plan = _locked_plan(care_plan, expected_version)
    if not care_plan.is_draft:
        raise _invalid(
            "care_plan",
            f"This version was already {care_plan.get_status_display().lower()}.",
            "already_agreed",
        )
    episode = care_plan.episode
    if agreed_on is None:
        raise _invalid("member_agreed_on", "Give the date of agreement.", "required")
    if agreed_on > timezone.localdate():
        raise _invalid(
            "member_agreed_on", "Agreement cannot be in the future.", "future"
        )
    if episode.enrolled_on and agreed_on < episode.enrolled_on:
        raise _invalid(
            "member_agreed_on",
            "Agreement is dated before the member enrolled in ECM.",
            "before_enrollment",
        )
    if not care_plan.goals.exists():
        raise _invalid(
            "goals", "Add at least one goal before the member agrees.", "no_goals"
        )
    previous = CarePlan.objects.select_for_update().filter(
        episode=episode, status=CarePlan.Status.AGREED
    )
    now = timezone.now()
    for old in previous:
        old.status = CarePlan.Status.SUPERSEDED
        old.superseded_at = now
        old.lock_version += 1
        old.save(
            update_fields=["status", "superseded_at", "lock_version", "updated_at"]
        )
        tasks_close_for_source(source=old, kind=REVIEW_TASK, actor=actor)
    care_plan.status = CarePlan.Status.AGREED
    care_plan.member_agreed_on = agreed_on
    care_plan.agreed_by = actor
    care_plan.agreed_at = now
    care_plan.save(
        update_fields=[
            "status",
            "member_agreed_on",
            "agreed_by",
            "agreed_at",
            "updated_at",
        ]
    )
    _touch(care_plan, actor, what=f"agreed on {agreed_on.isoformat()}")
    # Reviews requested (after a discharge) are answered by this agreement.
    for task in Task.objects.filter(
        kind=REVIEW_TASK, member_id=care_plan.member_id, status=TaskStatus.OPEN
    ).only("source_type", "source_id"):
        tasks_close_for_source(
            source=(task.source_type, task.source_id), kind=REVIEW_TASK, actor=actor
        )
    _review_task(care_plan, agreed_on + relativedelta(months=REVIEW_MONTHS), actor)
    # The episode's 90-day care-plan clock (DOMAIN.md §10b) is met.
    from care_plans.services.episodes import CARE_PLAN_TASK

    tasks_close_for_source(source=episode, kind=CARE_PLAN_TASK, actor=actor)
    episode = Episode.objects.get(pk=episode.pk)
    if episode.status == EpisodeStatus.ENROLLED:
        from care_plans.services.episodes import episode_activate

        episode_activate(episode=episode, actor=actor, care_plan_id=care_plan.pk)
    return care_plan


def _review_task(care_plan: CarePlan, due_on: date, actor):
    episode = care_plan.episode
    owner = episode.lead_care_manager
    if owner is None or not owner.is_active:
        owner, organization = None, episode.ecm_provider
    else:
        organization = None
    return task_create(
        kind=REVIEW_TASK,
        due_at=_end_of_day(due_on),
        owner=owner,
        organization=organization,
        member_id=care_plan.member_id,
        source=care_plan,
        actor=actor,
    )


@transaction.atomic
def care_plan_revise(*, care_plan: CarePlan, actor, expected_version) -> CarePlan:
    """Start a new version from the agreed one: a draft with copies of its needs,
    goals and interventions under the same uids. The agreed version stays in
    force until the new one is agreed."""
    _require_editor(actor, care_plan.episode, "care_plans.add_careplan")
    Episode.objects.select_for_update().filter(pk=care_plan.episode_id).first()
    care_plan = _locked_plan(care_plan, expected_version)
    if care_plan.status != CarePlan.Status.AGREED:
        raise _invalid("care_plan", "Only the agreed version is revised.", "not_agreed")
    if CarePlan.objects.filter(
        episode_id=care_plan.episode_id, status=CarePlan.Status.DRAFT
    ).exists():
        raise ConflictError(
            "A revision of this plan is already in progress.", code="draft_exists"
        )
    number = (
        CarePlan.objects.filter(episode_id=care_plan.episode_id).aggregate(
            top=Max("number")
        )["top"]
        + 1
    )
    draft = CarePlan.objects.create(
        member_id=care_plan.member_id,
        episode_id=care_plan.episode_id,
        number=number,
        language=care_plan.language,
        created_by=actor,
    )
    needs = list(care_plan.needs.all())
    new_needs = Need.objects.bulk_create(
        Need(
            care_plan=draft,
            uid=need.uid,
            domain=need.domain,
            description=need.description,
            source=need.source,
            question=need.question,
            position=need.position,
        )
        for need in needs
    )
    need_map = {old.pk: new for old, new in zip(needs, new_needs, strict=True)}
    goals = list(care_plan.goals.all())
    new_goals = Goal.objects.bulk_create(
        Goal(
            care_plan=draft,
            need=need_map[goal.need_id],
            uid=goal.uid,
            description=goal.description,
            target_date=goal.target_date,
            status=goal.status,
            part2=goal.part2,
            position=goal.position,
        )
        for goal in goals
    )
    goal_map = {old.pk: new for old, new in zip(goals, new_goals, strict=True)}
    Intervention.objects.bulk_create(
        Intervention(
            goal=goal_map[item.goal_id],
            uid=item.uid,
            description=item.description,
            responsible=item.responsible,
            responsible_user_id=item.responsible_user_id,
            responsible_contact_id=item.responsible_contact_id,
            due_date=item.due_date,
            status=item.status,
            position=item.position,
        )
        for item in Intervention.objects.filter(goal__care_plan=care_plan)
    )
    audit_record(
        action="create",
        object_type="care_plan",
        object_id=str(draft.uuid),
        member_ids=[draft.member_id],
        actor=actor,
        reason=f"version {number} revises version {care_plan.number}",
    )
    return draft


@transaction.atomic
def care_plan_review_request(
    *, episode: Episode, reason: str, source, actor, due_on: date | None = None
) -> Task:
    """Ask the lead care manager to review the member's care plan (after an
    inpatient discharge, say): a Task of kind ecm.care_plan_review, one per
    `source` — asking again for the same source returns the open task.

    `source` is the record that calls for the review (a model instance or a
    (type, id) pair); `reason` is kept in the audit trail, never PHI. With no
    lead care manager the task goes to the ECM provider's queue.
    """
    reason = _text(reason, "reason", limit=500)
    if not episode.is_open:
        raise _invalid("episode", "The ECM episode is closed.", "episode_closed")
    due_on = due_on or timezone.localdate() + timedelta(days=REVIEW_AFTER_REQUEST_DAYS)
    owner = episode.lead_care_manager
    organization = None
    if owner is None or not owner.is_active:
        owner, organization = None, episode.ecm_provider
    if owner is None and organization is None:
        raise _invalid(
            "episode", "The episode has no ECM provider to review it.", "unassigned"
        )
    try:
        task = task_create(
            kind=REVIEW_TASK,
            due_at=_end_of_day(due_on),
            owner=owner,
            organization=organization,
            member_id=episode.member_id,
            source=source,
            actor=actor,
        )
    except TaskAlreadyOpen:
        from calaim.work.services import source_key

        source_type, source_id = source_key(source)
        return Task.objects.get(
            kind=REVIEW_TASK,
            source_type=source_type,
            source_id=source_id,
            status=TaskStatus.OPEN,
        )
    audit_record(
        action="create",
        object_type="care_plan_review_request",
        object_id=str(task.uuid),
        member_ids=[episode.member_id],
        actor=actor,
        reason=reason,
    )
    return task


# --- Needs ---------------------------------------------------------------------------


@transaction.atomic
def need_add(
    *,
    care_plan: CarePlan,
    domain: str,
    description: str,
    actor,
    expected_version,
    source: str = Need.Source.MANUAL,
    question: str = "",
) -> Need:
    """Add a need to a draft."""
    care_plan = _editable(care_plan, expected_version, actor)
    fields = _clean_need(
        {
            "domain": domain,
            "description": description,
            "source": source,
            "question": question,
        }
    )
    need = Need.objects.create(
        care_plan=care_plan, position=_next_position(care_plan.needs), **fields
    )
    _touch(care_plan, actor, what=f"need {need.uid} added")
    return need


@transaction.atomic
def need_update(
    *, need: Need, actor, expected_version, domain: str, description: str
) -> Need:
    """Change a draft's need."""
    care_plan = _editable(need.care_plan, expected_version, actor)
    need.domain = _choice(domain, NeedDomain, "domain")
    need.description = _text(description, "description")
    need.save(update_fields=["domain", "description"])
    _touch(care_plan, actor, what=f"need {need.uid} changed")
    return need


@transaction.atomic
def need_remove(*, need: Need, actor, expected_version) -> None:
    """Remove a need from a draft; one with goals is refused (remove them first,
    so a goal is never dropped without anyone deciding to)."""
    care_plan = _editable(need.care_plan, expected_version, actor)
    if need.goals.exists():
        raise _invalid(
            "need", "This need still has goals; remove them first.", "need_has_goals"
        )
    uid = need.uid
    need.delete()
    _touch(care_plan, actor, what=f"need {uid} removed")


# --- Goals ---------------------------------------------------------------------------


def _need_of_plan(care_plan: CarePlan, need) -> Need:
    if need is None or need == "":
        raise _invalid(
            "need", "Every goal answers a need; choose one.", "need_required"
        )
    if not isinstance(need, Need):
        try:
            need = Need.objects.filter(care_plan=care_plan, uid=need).first()
        except (ValidationError, ValueError):
            need = None
        if need is None:
            raise _invalid("need", "That need is not in this plan.", "need_not_in_plan")
    if need.care_plan_id != care_plan.pk:
        raise _invalid("need", "That need is not in this plan.", "need_not_in_plan")
    return need


def _target_date(value, field="target_date"):
    if value is not None and value < timezone.localdate():
        raise _invalid(field, "The date has already passed.", "past_date")
    return value


@transaction.atomic
def goal_add(
    *,
    care_plan: CarePlan,
    need,
    description: str,
    actor,
    expected_version,
    target_date: date | None = None,
    status: str = GoalStatus.NOT_STARTED,
    part2: bool = False,
) -> Goal:
    """Add a goal, in the member's own words, to a need of a draft. A goal
    without a need (or with another plan's need) is refused."""
    care_plan = _editable(care_plan, expected_version, actor)
    need = _need_of_plan(care_plan, need)
    goal = Goal.objects.create(
        care_plan=care_plan,
        need=need,
        description=_text(description, "description"),
        target_date=_target_date(target_date),
        status=_choice(status, GoalStatus, "status"),
        part2=bool(part2),
        position=_next_position(care_plan.goals),
    )
    _touch(care_plan, actor, what=f"goal {goal.uid} added")
    return goal


@transaction.atomic
def goal_update(*, goal: Goal, actor, expected_version, **changes) -> Goal:
    """Change a goal. On a draft anything (description, target_date, status,
    part2, need); on the agreed version only its status (progress)."""
    allowed = {"description", "target_date", "status", "part2", "need"}
    unknown = set(changes) - allowed
    if unknown:
        raise _invalid(sorted(unknown)[0], "This field cannot be changed.", "unknown")
    plan = goal.care_plan
    content = {
        key
        for key, value in changes.items()
        if key not in PROGRESS_FIELDS and _differs(goal, key, value)
    }
    care_plan = _editable(plan, expected_version, actor, draft=bool(content))
    if "description" in changes:
        goal.description = _text(changes["description"], "description")
    if "target_date" in changes and changes["target_date"] != goal.target_date:
        goal.target_date = _target_date(changes["target_date"])
    if "status" in changes:
        goal.status = _choice(changes["status"], GoalStatus, "status")
    if "part2" in changes:
        goal.part2 = bool(changes["part2"])
    if "need" in changes:
        goal.need = _need_of_plan(care_plan, changes["need"])
    goal.save(update_fields=["description", "target_date", "status", "part2", "need"])
    _touch(care_plan, actor, what=f"goal {goal.uid} changed")
    return goal


def _differs(row, key, value) -> bool:
    if key == "need":
        current = row.need
        return not (
            value == current or value == current.uid or str(value) == str(current.uid)
        )
    return getattr(row, key) != value


@transaction.atomic
def goal_remove(*, goal: Goal, actor, expected_version) -> None:
    """Remove a goal (and its interventions) from a draft."""
    care_plan = _editable(goal.care_plan, expected_version, actor)
    uid = goal.uid
    goal.interventions.all().delete()
    goal.delete()
    _touch(care_plan, actor, what=f"goal {uid} removed")


# --- Interventions -------------------------------------------------------------------


def _responsible(care_plan, responsible, user, contact) -> dict:
    responsible = _choice(responsible, Intervention.Responsible, "responsible")
    episode = care_plan.episode
    if responsible == Intervention.Responsible.STAFF:
        if user is None:
            raise _invalid("responsible_user", "Choose the staff member.", "required")
        if (
            not user.is_active
            or user.is_service_account
            or user.organization_id != episode.ecm_provider_id
        ):
            raise _invalid(
                "responsible_user",
                "Choose an active staff member of the ECM provider.",
                "invalid_staff",
            )
        return {"responsible_user": user, "responsible_contact": None}
    if responsible == Intervention.Responsible.CARE_TEAM:
        if contact is None:
            raise _invalid(
                "responsible_contact", "Choose the care-team contact.", "required"
            )
        if not isinstance(contact, CareTeamMember):
            contact = CareTeamMember.objects.filter(uuid=contact).first()
        if (
            contact is None
            or contact.member_id != care_plan.member_id
            or not contact.is_current
        ):
            raise _invalid(
                "responsible_contact",
                "Choose someone on the member's care team.",
                "not_on_team",
            )
        return {"responsible_user": None, "responsible_contact": contact}
    return {"responsible_user": None, "responsible_contact": None}


@transaction.atomic
def intervention_add(
    *,
    goal: Goal,
    description: str,
    actor,
    expected_version,
    responsible: str = Intervention.Responsible.STAFF,
    responsible_user=None,
    responsible_contact=None,
    due_date: date | None = None,
    status: str = InterventionStatus.PLANNED,
) -> Intervention:
    """Add an intervention to a goal of a draft: what, who, by when."""
    care_plan = _editable(goal.care_plan, expected_version, actor)
    intervention = Intervention.objects.create(
        goal=goal,
        description=_text(description, "description"),
        responsible=responsible,
        due_date=_target_date(due_date, "due_date"),
        status=_choice(status, InterventionStatus, "status"),
        position=_next_position(goal.interventions),
        **_responsible(care_plan, responsible, responsible_user, responsible_contact),
    )
    _touch(care_plan, actor, what=f"intervention {intervention.uid} added")
    return intervention


@transaction.atomic
def intervention_update(
    *, intervention: Intervention, actor, expected_version, **changes
) -> Intervention:
    """Change an intervention; on the agreed version only its status."""
    allowed = {
        "description",
        "responsible",
        "responsible_user",
        "responsible_contact",
        "due_date",
        "status",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise _invalid(sorted(unknown)[0], "This field cannot be changed.", "unknown")
    content = {
        key
        for key, value in changes.items()
        if key not in PROGRESS_FIELDS and getattr(intervention, key) != value
    }
    care_plan = _editable(
        intervention.goal.care_plan, expected_version, actor, draft=bool(content)
    )
    if "description" in changes:
        intervention.description = _text(changes["description"], "description")
    if "due_date" in changes and changes["due_date"] != intervention.due_date:
        intervention.due_date = _target_date(changes["due_date"], "due_date")
    if "status" in changes:
        intervention.status = _choice(changes["status"], InterventionStatus, "status")
    if {"responsible", "responsible_user", "responsible_contact"} & set(changes):
        responsible = changes.get("responsible", intervention.responsible)
        intervention.responsible = responsible
        for key, value in _responsible(
            care_plan,
            responsible,
            changes.get("responsible_user", intervention.responsible_user),
            changes.get("responsible_contact", intervention.responsible_contact),
        ).items():
            setattr(intervention, key, value)
    intervention.save()
    _touch(care_plan, actor, what=f"intervention {intervention.uid} changed")
    return intervention


@transaction.atomic
def intervention_remove(*, intervention: Intervention, actor, expected_version):
    """Remove an intervention from a draft."""
    care_plan = _editable(intervention.goal.care_plan, expected_version, actor)
    uid = intervention.uid
    intervention.delete()
    _touch(care_plan, actor, what=f"intervention {uid} removed")


# --- The whole plan at once (the API's PUT) ------------------------------------------


def _uid(value, field):
    import uuid as uuid_module

    if value in (None, ""):
        return uuid_module.uuid4()
    try:
        return (
            value
            if isinstance(value, uuid_module.UUID)
            else uuid_module.UUID(str(value))
        )
    except ValueError as error:
        raise _invalid(field, "Not a valid uid.", "invalid") from error


@transaction.atomic
def care_plan_replace(
    *,
    care_plan: CarePlan,
    needs: list,
    actor,
    expected_version,
    language: str | None = None,
    part2_allowed: bool = True,
) -> CarePlan:
    """Make a draft's needs, goals and interventions exactly `needs` (nested
    dicts, as the API sends them), matching rows by uid: present ones change,
    new ones are added (with the uid given, or a new one), missing ones go.

    One version step for the whole change. Part 2 goals the caller may not see
    (`part2_allowed` False) are neither shown to them nor touched: they stay,
    with their needs.
    """
    care_plan = _editable(care_plan, expected_version, actor)
    if language is not None:
        care_plan.language = _text(language, "language", required=False, limit=40)
        care_plan.save(update_fields=["language", "updated_at"])
    existing_needs = {need.uid: need for need in care_plan.needs.all()}
    existing_goals = {goal.uid: goal for goal in care_plan.goals.all()}
    existing_items = {
        item.uid: item
        for item in Intervention.objects.filter(goal__care_plan=care_plan)
    }
    hidden_goals = {
        uid for uid, goal in existing_goals.items() if goal.part2 and not part2_allowed
    }
    keep_needs, keep_goals, keep_items = set(), set(), set()
    staged = []  # (goal fields, need uid, interventions)
    for n_index, data in enumerate(needs, start=1):
        prefix = f"needs.{n_index - 1}"
        fields = _clean_need(data)
        uid = _uid(data.get("uid"), f"{prefix}.uid")
        if uid in keep_needs:
            raise _invalid(f"{prefix}.uid", "This uid appears twice.", "duplicate")
        keep_needs.add(uid)
        need = existing_needs.get(uid)
        if need is None:
            need = Need(care_plan=care_plan, uid=uid)
        for key, value in fields.items():
            setattr(need, key, value)
        need.position = n_index
        need.save()
        existing_needs[uid] = need
        for g_index, goal_data in enumerate(data.get("goals") or [], start=1):
            staged.append((f"{prefix}.goals.{g_index - 1}", need, goal_data, g_index))
    for prefix, need, data, position in staged:
        uid = _uid(data.get("uid"), f"{prefix}.uid")
        if uid in keep_goals:
            raise _invalid(f"{prefix}.uid", "This uid appears twice.", "duplicate")
        if uid in hidden_goals:
            raise _invalid(f"{prefix}.uid", "Not a goal of this plan.", "invalid")
        keep_goals.add(uid)
        goal = existing_goals.get(uid) or Goal(care_plan=care_plan, uid=uid)
        target = data.get("target_date")
        if target != goal.target_date:
            _target_date(target, f"{prefix}.target_date")
        goal.need = need
        goal.description = _text(data.get("description"), f"{prefix}.description")
        goal.target_date = target
        goal.status = _choice(
            data.get("status") or GoalStatus.NOT_STARTED, GoalStatus, f"{prefix}.status"
        )
        goal.part2 = bool(data.get("part2"))
        goal.position = position
        goal.save()
        for i_index, item_data in enumerate(data.get("interventions") or [], start=1):
            at = f"{prefix}.interventions.{i_index - 1}"
            item_uid = _uid(item_data.get("uid"), f"{at}.uid")
            if item_uid in keep_items:
                raise _invalid(f"{at}.uid", "This uid appears twice.", "duplicate")
            keep_items.add(item_uid)
            item = existing_items.get(item_uid) or Intervention(uid=item_uid)
            due = item_data.get("due_date")
            if due != item.due_date:
                _target_date(due, f"{at}.due_date")
            try:
                party = _responsible(
                    care_plan,
                    item_data.get("responsible") or Intervention.Responsible.STAFF,
                    item_data.get("responsible_user"),
                    item_data.get("responsible_contact"),
                )
            except ValidationError as error:
                raise ValidationError(
                    {f"{at}.{key}": value for key, value in error.error_dict.items()}
                ) from error
            item.goal = goal
            item.description = _text(item_data.get("description"), f"{at}.description")
            item.responsible = item_data.get("responsible") or "staff"
            item.responsible_user = party["responsible_user"]
            item.responsible_contact = party["responsible_contact"]
            item.due_date = due
            item.status = _choice(
                item_data.get("status") or InterventionStatus.PLANNED,
                InterventionStatus,
                f"{at}.status",
            )
            item.position = i_index
            item.save()
    Intervention.objects.filter(goal__care_plan=care_plan).exclude(
        uid__in=keep_items
    ).exclude(goal__uid__in=hidden_goals).delete()
    Goal.objects.filter(care_plan=care_plan).exclude(
        uid__in=keep_goals | hidden_goals
    ).delete()
    kept_for_hidden = {
        goal.need_id for uid, goal in existing_goals.items() if uid in hidden_goals
    }
    Need.objects.filter(care_plan=care_plan).exclude(uid__in=keep_needs).exclude(
        pk__in=kept_for_hidden
    ).delete()
    _touch(care_plan, actor, what="plan content replaced")
    return care_plan


@transaction.atomic
def care_plan_patch(
    *,
    care_plan: CarePlan,
    actor,
    expected_version,
    language: str | None = None,
    goals=(),
    interventions=(),
) -> CarePlan:
    """Change some goals and interventions (by uid) and the language, as one
    write against one version (the API's PATCH). On the agreed version only
    their status changes; anything else needs a draft, as in goal_update."""
    _require_editor(actor, care_plan.episode, "care_plans.change_careplan")
    version = _locked_plan(care_plan, expected_version).lock_version
    if language is not None:
        care_plan = care_plan_update(
            care_plan=care_plan,
            actor=actor,
            expected_version=version,
            language=language,
        )
        version += 1
    for index, data in enumerate(goals):
        changes = dict(data)
        uid = _uid(changes.pop("uid", None) or "missing", f"goals.{index}.uid")
        goal = Goal.objects.filter(care_plan=care_plan, uid=uid).first()
        if goal is None:
            raise _invalid(f"goals.{index}.uid", "Not a goal of this plan.", "invalid")
        if "need_uid" in changes:
            changes["need"] = changes.pop("need_uid")
        goal_update(goal=goal, actor=actor, expected_version=version, **changes)
        version += 1
    for index, data in enumerate(interventions):
        changes = dict(data)
        uid = _uid(changes.pop("uid", None) or "missing", f"interventions.{index}.uid")
        item = Intervention.objects.filter(goal__care_plan=care_plan, uid=uid).first()
        if item is None:
            raise _invalid(
                f"interventions.{index}.uid",
                "Not an intervention of this plan.",
                "invalid",
            )
        intervention_update(
            intervention=item, actor=actor, expected_version=version, **changes
        )
        version += 1
    care_plan.refresh_from_db()
    return care_plan
