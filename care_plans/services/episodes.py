"""The ECM episode's lifecycle: every status change is one of these services.

Each service locks the episode row, checks that the move is allowed from the
current status (and, when the caller sends one, that its version is current),
checks the actor's role and sight of the member, writes, records an
EpisodeEvent and an audit event, and opens or closes the due-work tasks the
step implies. Illegal moves raise ValidationError (400); a lost race or a stale
version raises ConflictError (409); a role that lacks the action raises
PermissionDenied (403); a member the actor cannot see raises Http404.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.work.calendar import PACIFIC, due_at
from calaim.work.models import TaskStatus
from calaim.work.services import task_create, tasks_close_for_source
from care_plans.models import (
    CLOSED_STATUSES,
    DiscontinuationReason,
    Episode,
    EpisodeEvent,
    EpisodeStatus,
    OutreachAttempt,
    OutreachMethod,
)
from community_supports.models import ProviderContract
from community_supports.selectors import contracts_in_force
from members.models import Enrollment, Member, PopulationOfFocus
from members.selectors import enrolled_members
from members.services import ecm_exclusions_on

S = EpisodeStatus
AUTHORIZATION_TASK = "ecm.authorization_decision"
# The clocks that start at enrollment (DOMAIN.md §10b): the comprehensive
# assessment within 60 days, the agreed care management plan within 90.
ASSESSMENT_TASK = "ecm.assessment_due"
CARE_PLAN_TASK = "ecm.care_plan_due"
ASSESSMENT_DAYS = getattr(settings, "ECM_ASSESSMENT_DAYS", 60)
CARE_PLAN_DAYS = getattr(settings, "ECM_CARE_PLAN_DAYS", 90)
ENROLLMENT_TASKS = (
    (ASSESSMENT_TASK, ASSESSMENT_DAYS),
    (CARE_PLAN_TASK, CARE_PLAN_DAYS),
)
PRESUMPTIVE_DAYS = getattr(settings, "ECM_PRESUMPTIVE_DAYS", 30)
OUTREACH_MIN_ATTEMPTS = getattr(settings, "ECM_OUTREACH_MIN_ATTEMPTS", 3)
OUTREACH_MIN_METHODS = getattr(settings, "ECM_OUTREACH_MIN_METHODS", 2)
OUTREACH_MIN_DAYS = getattr(settings, "ECM_OUTREACH_MIN_DAYS", 30)


# --- Shared steps -------------------------------------------------------------------


def _locked(episode: Episode, expected_version: int | None) -> Episode:
    """Re-read the episode under a row lock; refuse a stale version."""
    current = Episode.objects.select_for_update().get(pk=episode.pk)
    if expected_version is not None and expected_version != current.version:
        raise ConflictError(
            f"This episode changed since you loaded it (version {expected_version}, "
            f"now {current.version}); reload and try again.",
            code="stale_version",
        )
    return current


def _require_status(episode: Episode, allowed, action: str) -> None:
    if episode.status not in allowed:
        status = episode.get_status_display().lower()
        message = f"Cannot {action} an episode that is {status}."
        raise ValidationError(
            {"status": ValidationError(message, code="illegal_transition")}
        )


def _require_sight(actor, episode: Episode) -> None:
    if not registry.member_is_visible(actor, episode.member_id):
        raise Http404("No such episode.")


def _move(
    episode: Episode,
    *,
    to_status: str,
    action: str,
    actor,
    reason: str = "",
    details: dict | None = None,
    fields: tuple = (),
) -> Episode:
    """Save the changed fields, bump the version, record the event and audit."""
    now = timezone.now()
    from_status = episode.status
    episode.status = to_status
    episode.version += 1
    changed = {"status", "version", "updated_at", *fields}
    if to_status in CLOSED_STATUSES and episode.closed_at is None:
        episode.closed_at = now
        changed.add("closed_at")
    try:
        with transaction.atomic():
            episode.save(update_fields=sorted(changed))
    except IntegrityError as conflict:
        raise ConflictError(
            "The member already has another open ECM episode.", code="open_episode"
        ) from conflict
    if episode.closed_at is not None and from_status not in CLOSED_STATUSES:
        from care_plans.services.care_team import care_team_close

        care_team_close(episode=episode, actor=actor)
    EpisodeEvent.objects.create(
        episode=episode,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        occurred_at=now,
        reason=reason,
        details=details or {},
    )
    audit_record(
        action="update",
        object_type="ecm_episode",
        object_id=str(episode.uuid),
        member_ids=[episode.member_id],
        actor=actor,
        reason=action,
    )
    return episode


def _close_tasks(episode: Episode, kind: str, actor) -> None:
    tasks_close_for_source(source=episode, kind=kind, actor=actor)


def _notify(episode: Episode, kind: str, actor) -> None:
    from care_plans.services.notices import notice_create

    notice_create(episode=episode, kind=kind, actor=actor)


# --- Identification and authorization ------------------------------------------------


def plan_of(member: Member, on: date) -> Enrollment:
    """The enrollment span that makes a plan responsible for the member today."""
    span = (
        Enrollment.objects.filter(member=member, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .select_related("plan")
        .order_by("-start_date")
        .first()
    )
    if span is None:
        raise ValidationError(
            {
                "member": ValidationError(
                    "The member is not enrolled with a plan today.", code="not_enrolled"
                )
            }
        )
    return span


@transaction.atomic
def episode_identify(
    *,
    member: Member,
    source: str,
    actor,
    population: PopulationOfFocus | None = None,
    referrer_contact: str = "",
    note: str = "",
    urgency: str = Episode.Urgency.STANDARD,
) -> Episode:
    """Identify a member for ECM (plan data, a referral, a self-referral).

    A plan administrator identifies members of their plan; an ECM provider's
    staff refer members they serve or meet (the member must be enrolled with a
    plan); a second open episode is refused with the existing one named.
    """
    registry.require_permission(actor, "care_plans.add_episode")
    today = timezone.localdate()
    span = plan_of(member, today)
    if actor.has_role(roles.PLAN_ADMIN):
        if actor.organization_id != span.plan_id:
            raise Http404("No such member.")
    elif source == Episode.Source.PLAN_DATA:
        raise PermissionDenied("Only the plan identifies members from plan data.")
    if source not in Episode.Source.values:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    if urgency not in Episode.Urgency.values:
        raise ValidationError({"urgency": f"Unknown urgency {urgency!r}."})
    if population is not None and population.age_group != (
        "adult" if member.is_adult_on(today) else "child"
    ):
        raise ValidationError(
            {"population": "That population of focus does not fit the member's age."}
        )
    existing = Episode.objects.filter(member=member, closed_at__isnull=True).first()
    if existing is not None:
        raise ConflictError(
            f"The member already has an open ECM episode "
            f"({existing.get_status_display().lower()} since "
            f"{timezone.localtime(existing.opened_at):%b %-d, %Y}).",
            code="open_episode",
        )
    now = timezone.now()
    episode = Episode(
        member=member,
        plan_id=span.plan_id,
        source=source,
        population=population,
        urgency=urgency,
        referred_by=actor,
        referred_by_organization_id=actor.organization_id,
        referrer_contact=referrer_contact.strip(),
        identification_note=note.strip(),
        opened_at=now,
        status=S.IDENTIFIED,
    )
    try:
        with transaction.atomic():
            episode.save()
    except IntegrityError as conflict:
        raise ConflictError(
            "The member already has an open ECM episode.", code="open_episode"
        ) from conflict
    EpisodeEvent.objects.create(
        episode=episode,
        action="identify",
        to_status=S.IDENTIFIED,
        actor=actor,
        occurred_at=now,
        details={"source": source},
    )
    audit_record(
        action="create",
        object_type="ecm_episode",
        object_id=str(episode.uuid),
        member_ids=[member.pk],
        actor=actor,
    )
    return episode_request_authorization(episode=episode, actor=actor)


def _authorization_clock(episode: Episode, requested_at):
    if episode.urgency == Episode.Urgency.EXPEDITED:
        return due_at(requested_at, hours=72)
    return due_at(requested_at, business_days=5)


@transaction.atomic
def episode_request_authorization(
    *, episode: Episode, actor, expected_version: int | None = None
) -> Episode:
    """Start the plan's authorization clock: 5 business days, or 72 hours when
    expedited, as a task on the plan's queue."""
    episode = _locked(episode, expected_version)
    _require_status(episode, {S.IDENTIFIED}, "request authorization for")
    now = timezone.now()
    episode.authorization_requested_at = now
    episode.authorization_due_at = _authorization_clock(episode, now)
    _move(
        episode,
        to_status=S.AUTHORIZATION_REQUESTED,
        action="request_authorization",
        actor=actor,
        fields=("authorization_requested_at", "authorization_due_at"),
    )
    task_create(
        kind=AUTHORIZATION_TASK,
        due_at=episode.authorization_due_at,
        organization=episode.plan,
        member_id=episode.member_id,
        source=episode,
        actor=actor,
    )
    return episode


def _check_no_exclusion(episode: Episode, on: date) -> None:
    exclusions = ecm_exclusions_on(episode.member, on)
    if exclusions:
        names = ", ".join(program.get_program_display() for program in exclusions)
        message = f"The member is enrolled in {names}, which excludes ECM."
        raise ValidationError(
            {"member": ValidationError(message, code="ecm_exclusion")}
        )


def _require_plan_admin(actor, episode: Episode) -> None:
    registry.require_permission(actor, "care_plans.authorize_episode")
    if actor.organization_id != episode.plan_id:
        raise Http404("No such episode.")


@transaction.atomic
def episode_authorize(
    *,
    episode: Episode,
    actor,
    authorization_number: str,
    authorized_from: date,
    authorized_through: date,
    expected_version: int | None = None,
) -> Episode:
    """The plan authorizes ECM (or confirms a presumptive authorization)."""
    _require_plan_admin(actor, episode)
    episode = _locked(episode, expected_version)
    presumptive = episode.status == S.AUTHORIZED and episode.presumptive_by_id
    if not presumptive:
        _require_status(episode, {S.IDENTIFIED, S.AUTHORIZATION_REQUESTED}, "authorize")
    errors = {}
    if not (authorization_number or "").strip():
        errors["authorization_number"] = "An authorization number is required."
    if authorized_through < authorized_from:
        errors["authorized_through"] = "The authorization ends before it starts."
    if errors:
        raise ValidationError(errors)
    _check_no_exclusion(episode, authorized_from)
    episode.authorization_number = authorization_number.strip()
    episode.authorized_from = authorized_from
    episode.authorized_through = authorized_through
    episode.decided_at = timezone.now()
    episode.decided_by = actor
    episode.presumptive_until = None
    _move(
        episode,
        to_status=episode.status if presumptive else S.AUTHORIZED,
        action="authorize",
        actor=actor,
        fields=(
            "authorization_number",
            "authorized_from",
            "authorized_through",
            "decided_at",
            "decided_by",
            "presumptive_until",
        ),
    )
    _close_tasks(episode, AUTHORIZATION_TASK, actor)
    _notify(episode, "referrer_decision", actor)
    return episode


@transaction.atomic
def episode_deny(
    *, episode: Episode, actor, reason: str, expected_version: int | None = None
) -> Episode:
    """The plan denies ECM: the episode closes and the member gets a notice of
    action with the reason; the referrer is told."""
    _require_plan_admin(actor, episode)
    episode = _locked(episode, expected_version)
    _require_status(
        episode, {S.IDENTIFIED, S.AUTHORIZATION_REQUESTED, S.AUTHORIZED}, "deny"
    )
    if episode.status == S.AUTHORIZED and not episode.presumptive_by_id:
        raise ValidationError(
            {"status": "This episode is already authorized; discontinue it instead."}
        )
    if len((reason or "").strip()) < 10:
        raise ValidationError({"reason": "Give the reason for the denial."})
    episode.decided_at = timezone.now()
    episode.decided_by = actor
    episode.decision_reason = reason.strip()
    _move(
        episode,
        to_status=S.DENIED,
        action="deny",
        actor=actor,
        reason=reason.strip(),
        fields=("decided_at", "decided_by", "decision_reason"),
    )
    _close_tasks(episode, AUTHORIZATION_TASK, actor)
    _notify(episode, "denial", actor)
    _notify(episode, "referrer_decision", actor)
    return episode


@transaction.atomic
def episode_presumptively_authorize(
    *, episode: Episode, actor, expected_version: int | None = None
) -> Episode:
    """A contracted ECM provider presumptively authorizes ECM for up to 30 days
    while the plan decides; the provider is assigned and the plan's clock runs on."""
    registry.require_permission(actor, "care_plans.presumptively_authorize_episode")
    episode = _locked(episode, expected_version)
    _require_status(
        episode, {S.IDENTIFIED, S.AUTHORIZATION_REQUESTED}, "presumptively authorize"
    )
    today = timezone.localdate()
    contract = (
        contracts_in_force(
            plan_id=episode.plan_id,
            service=ProviderContract.Service.ECM,
            county_code=plan_of(episode.member, today).county_id,
            on=today,
        )
        .filter(provider_id=actor.organization_id, may_presumptively_authorize=True)
        .first()
    )
    if contract is None:
        raise PermissionDenied(
            "Your organization has no ECM contract with this plan that allows "
            "presumptive authorization in the member's county."
        )
    _check_no_exclusion(episode, today)
    episode.presumptive_by_id = actor.organization_id
    episode.presumptive_until = today + timedelta(days=PRESUMPTIVE_DAYS)
    episode.ecm_provider_id = actor.organization_id
    episode.authorized_from = today
    _move(
        episode,
        to_status=S.AUTHORIZED,
        action="presumptively_authorize",
        actor=actor,
        fields=(
            "presumptive_by",
            "presumptive_until",
            "ecm_provider",
            "authorized_from",
        ),
    )
    return episode


# --- Assignment ----------------------------------------------------------------


def providers_with_capacity(episode: Episode, on: date | None = None):
    """The plan's ECM contracts in force in the member's county, each with its
    open episode count, for the assignment screen (one query)."""
    from django.db.models import Count

    on = on or timezone.localdate()
    county = plan_of(episode.member, on).county_id
    return contracts_in_force(
        plan_id=episode.plan_id, service=ProviderContract.Service.ECM,
        county_code=county, on=on,
    ).annotate(
        open_episodes=Count(
            "provider__ecm_episodes",
            filter=Q(provider__ecm_episodes__closed_at__isnull=True,
                     provider__ecm_episodes__plan_id=episode.plan_id),
        )
    )  # fmt: skip


@transaction.atomic
def episode_assign(
    *,
    episode: Episode,
    provider,
    lead_care_manager,
    actor,
    expected_version: int | None = None,
) -> Episode:
    """Assign an authorized episode to a contracted ECM provider with capacity in
    the member's county, and to one of its care managers as lead care manager.

    Two people assigning at once: the second finds the episode assigned (or its
    version moved) and gets 409.
    """
    registry.require_permission(actor, "care_plans.assign_episode")
    if actor.organization_id != episode.plan_id:
        raise Http404("No such episode.")
    episode = _locked(episode, expected_version)
    if episode.status == S.ASSIGNED:
        raise ConflictError(
            "This episode was assigned a moment ago by someone else.",
            code="already_assigned",
        )
    _require_status(episode, {S.AUTHORIZED}, "assign")
    today = timezone.localdate()
    contract = (
        contracts_in_force(
            plan_id=episode.plan_id,
            service=ProviderContract.Service.ECM,
            county_code=plan_of(episode.member, today).county_id,
            on=today,
        )
        .filter(provider=provider)
        .first()
    )
    if contract is None:
        raise ValidationError(
            {"provider": "That provider has no ECM contract with this plan in the "
                         "member's county."}
        )  # fmt: skip
    if contract.capacity is not None:
        # Lock the provider's open episodes so two assignments cannot both take
        # the last place.
        taken = (
            Episode.objects.select_for_update()
            .filter(
                ecm_provider=provider, plan_id=episode.plan_id, closed_at__isnull=True
            )
            .exclude(pk=episode.pk)
            .count()
        )
        if taken >= contract.capacity:
            raise ValidationError(
                {"provider": f"{provider.name} is at capacity ({contract.capacity})."}
            )
    _check_lead_care_manager(lead_care_manager, provider)
    episode.ecm_provider = provider
    episode.lead_care_manager = lead_care_manager
    episode.assigned_at = timezone.now()
    _move(
        episode,
        to_status=S.ASSIGNED,
        action="assign",
        actor=actor,
        details={"provider": provider.pk, "lead_care_manager": lead_care_manager.pk},
        fields=("ecm_provider", "lead_care_manager", "assigned_at"),
    )
    _notify(episode, "assignment", actor)
    return episode


def _check_lead_care_manager(user, provider) -> None:
    if (
        user is None
        or not user.is_active
        or user.organization_id != provider.pk
        or not user.has_role(roles.CARE_MANAGER)
    ):
        raise ValidationError(
            {"lead_care_manager": "Choose an active care manager of that provider."}
        )


@transaction.atomic
def episode_reassign_lead(
    *, episode: Episode, lead_care_manager, actor, expected_version: int | None = None
) -> Episode:
    """Give the episode another lead care manager of the same provider. The
    previous one loses access at once (access follows responsibility)."""
    registry.require_permission(actor, "care_plans.assign_lead_care_manager")
    _require_sight(actor, episode)
    episode = _locked(episode, expected_version)
    _require_status(episode, {S.ASSIGNED, S.OUTREACH, S.ENROLLED, S.ACTIVE}, "reassign")
    if actor.organization_id not in (episode.ecm_provider_id, episode.plan_id):
        raise PermissionDenied("Only the provider or the plan reassigns.")
    _check_lead_care_manager(lead_care_manager, episode.ecm_provider)
    previous = episode.lead_care_manager_id
    episode.lead_care_manager = lead_care_manager
    return _move(
        episode,
        to_status=episode.status,
        action="reassign_lead_care_manager",
        actor=actor,
        details={"from": previous, "to": lead_care_manager.pk},
        fields=("lead_care_manager",),
    )


# --- Outreach and enrollment ------------------------------------------------------


def _require_provider_staff(actor, episode: Episode, permission: str) -> None:
    registry.require_permission(actor, permission)
    _require_sight(actor, episode)
    if actor.organization_id != episode.ecm_provider_id:
        raise PermissionDenied("Only the assigned ECM provider does this.")


def outreach_rule_met(episode: Episode, attempts=None) -> tuple[bool, str]:
    """DOMAIN.md §10b: at least 3 attempts, 2 or more methods, over 30 days.

    `attempts`: the episode's outreach attempts when the caller has already read
    them all (the chart's outreach panel lists them), in any order; otherwise
    they are read here.
    """
    if attempts is None:
        attempts = list(episode.outreach.order_by("attempted_at"))
    else:
        attempts = sorted(attempts, key=lambda attempt: attempt.attempted_at)
    methods = {attempt.method for attempt in attempts}
    span = (
        (attempts[-1].attempted_at - attempts[0].attempted_at).days if attempts else 0
    )
    if len(attempts) < OUTREACH_MIN_ATTEMPTS:
        return False, f"{len(attempts)} of {OUTREACH_MIN_ATTEMPTS} attempts so far."
    if len(methods) < OUTREACH_MIN_METHODS:
        return (
            False,
            f"Attempts used {len(methods)} method; {OUTREACH_MIN_METHODS} needed.",
        )
    if span < OUTREACH_MIN_DAYS:
        return False, f"Attempts span {span} days; {OUTREACH_MIN_DAYS} needed."
    return True, "The outreach rule is met."


@transaction.atomic
def outreach_record(
    *,
    episode: Episode,
    attempted_at,
    method: str,
    outcome: str,
    minutes: int,
    actor,
    note: str = "",
) -> OutreachAttempt:
    """Record an outreach attempt (the OTF's fields); the first one moves an
    assigned episode into outreach."""
    _require_provider_staff(actor, episode, "care_plans.add_outreachattempt")
    episode = _locked(episode, None)
    _require_status(episode, {S.ASSIGNED, S.OUTREACH}, "record outreach for")
    errors = {}
    if method not in OutreachMethod.values:
        errors["method"] = f"Unknown method {method!r}."
    if outcome not in OutreachAttempt.Outcome.values:
        errors["outcome"] = f"Unknown outcome {outcome!r}."
    if not 0 <= int(minutes) <= 600:
        errors["minutes"] = "Minutes must be between 0 and 600."
    if attempted_at > timezone.now() + timedelta(minutes=5):
        errors["attempted_at"] = "An attempt cannot be in the future."
    if episode.assigned_at and attempted_at < episode.assigned_at - timedelta(days=1):
        errors["attempted_at"] = "The attempt is before the member was assigned."
    if errors:
        raise ValidationError(errors)
    attempt = OutreachAttempt.objects.create(
        episode=episode,
        attempted_at=attempted_at,
        method=method,
        outcome=outcome,
        minutes=minutes,
        note=note.strip(),
        staff=actor,
    )
    if episode.status == S.ASSIGNED:
        _move(episode, to_status=S.OUTREACH, action="start_outreach", actor=actor)
    else:
        audit_record(
            action="create",
            object_type="outreach_attempt",
            object_id=str(attempt.uuid),
            member_ids=[episode.member_id],
            actor=actor,
        )
    return attempt


@transaction.atomic
def episode_enroll(
    *,
    episode: Episode,
    consented_on: date,
    consent_method: str,
    actor,
    expected_version: int | None = None,
) -> Episode:
    """The member agrees to ECM: consent recorded, the episode is enrolled."""
    _require_provider_staff(actor, episode, "care_plans.enroll_episode")
    episode = _locked(episode, expected_version)
    _require_status(episode, {S.ASSIGNED, S.OUTREACH}, "enroll")
    if consent_method not in {"verbal", "written", "electronic"}:
        raise ValidationError(
            {"consent_method": "Consent is verbal, written or electronic."}
        )
    if consented_on > timezone.localdate():
        raise ValidationError({"consented_on": "Consent cannot be in the future."})
    if episode.authorized_from and consented_on < episode.authorized_from:
        raise ValidationError(
            {"consented_on": "Consent is dated before ECM was authorized."}
        )
    episode.enrolled_on = consented_on
    episode.consent_method = consent_method
    _move(
        episode,
        to_status=S.ENROLLED,
        action="enroll",
        actor=actor,
        fields=("enrolled_on", "consent_method"),
    )
    _enrollment_tasks(episode, actor)
    return episode


def _enrollment_tasks(episode: Episode, actor) -> None:
    """Open the assessment and care-plan clocks, counted in calendar days from
    the enrollment date, for the lead care manager (the provider's queue when
    there is no active one)."""
    owner = episode.lead_care_manager
    organization = None
    if owner is None or not owner.is_active:
        owner, organization = None, episode.ecm_provider
    start = datetime.combine(episode.enrolled_on, time(0, 0), tzinfo=PACIFIC)
    for kind, days in ENROLLMENT_TASKS:
        task_create(
            kind=kind,
            due_at=due_at(start, calendar_days=days),
            owner=owner,
            organization=organization,
            member_id=episode.member_id,
            source=episode,
            actor=actor,
        )


def _cancel_enrollment_tasks(episode: Episode, actor) -> None:
    """The episode ended: its enrollment clocks stop (cancelled, not done)."""
    for kind, _days in ENROLLMENT_TASKS:
        tasks_close_for_source(
            source=episode, kind=kind, actor=actor, status=TaskStatus.CANCELLED
        )


@transaction.atomic
def episode_decline(
    *, episode: Episode, actor, reason: str = "", expected_version: int | None = None
) -> Episode:
    """The member declines ECM during outreach: the episode closes."""
    _require_provider_staff(actor, episode, "care_plans.enroll_episode")
    episode = _locked(episode, expected_version)
    _require_status(episode, {S.ASSIGNED, S.OUTREACH}, "record a decline for")
    episode.discontinued_on = timezone.localdate()
    episode.discontinuation_reason = DiscontinuationReason.MEMBER_DECLINED
    episode.discontinuation_note = reason.strip()
    return _move(
        episode,
        to_status=S.DECLINED,
        action="decline",
        actor=actor,
        reason=reason.strip(),
        fields=("discontinued_on", "discontinuation_reason", "discontinuation_note"),
    )


@transaction.atomic
def episode_unable_to_reach(
    *, episode: Episode, actor, expected_version: int | None = None
) -> Episode:
    """Close an episode whose outreach met the rule without reaching the member."""
    _require_provider_staff(actor, episode, "care_plans.enroll_episode")
    episode = _locked(episode, expected_version)
    _require_status(episode, {S.OUTREACH}, "close as unable to reach")
    met, why = outreach_rule_met(episode)
    if not met:
        raise ValidationError(
            {"outreach": ValidationError(f"Not yet: {why}", code="outreach_rule")}
        )
    episode.discontinued_on = timezone.localdate()
    episode.discontinuation_reason = DiscontinuationReason.UNABLE_TO_REACH
    return _move(
        episode,
        to_status=S.UNABLE_TO_REACH,
        action="unable_to_reach",
        actor=actor,
        fields=("discontinued_on", "discontinuation_reason"),
    )


@transaction.atomic
def episode_activate(
    *, episode: Episode, actor, care_plan_id=None, expected_version: int | None = None
) -> Episode:
    """The member agreed their first care plan: an enrolled episode becomes active.

    Called by care_plans.services.care_plans.care_plan_agree inside its
    transaction; the event names the plan that made the episode active.
    """
    _require_sight(actor, episode)
    episode = _locked(episode, expected_version)
    _require_status(episode, {S.ENROLLED}, "activate")
    return _move(
        episode,
        to_status=S.ACTIVE,
        action="activate",
        actor=actor,
        reason="The member agreed their care plan.",
        details={"care_plan": care_plan_id} if care_plan_id else {},
    )


# --- The end ------------------------------------------------------------------------


@transaction.atomic
def episode_discontinue(
    *,
    episode: Episode,
    reason: str,
    actor,
    note: str = "",
    on: date | None = None,
    expected_version: int | None = None,
) -> Episode:
    """Discontinue ECM with a coded reason; the member gets a notice of action
    (not after death or loss of Medi-Cal, when there is no one to notify)."""
    registry.require_permission(actor, "care_plans.discontinue_episode")
    _require_sight(actor, episode)
    if actor.organization_id not in (episode.ecm_provider_id, episode.plan_id):
        raise PermissionDenied("Only the provider or the plan discontinues ECM.")
    episode = _locked(episode, expected_version)
    _require_status(
        episode,
        {S.AUTHORIZED, S.ASSIGNED, S.OUTREACH, S.ENROLLED, S.ACTIVE},
        "discontinue",
    )
    if reason not in DiscontinuationReason.values:
        raise ValidationError({"reason": f"Unknown discontinuation reason {reason!r}."})
    if reason == DiscontinuationReason.OTHER and len(note.strip()) < 5:
        raise ValidationError({"note": "Say why when the reason is 'other'."})
    on = on or timezone.localdate()
    if episode.enrolled_on and on < episode.enrolled_on:
        raise ValidationError({"on": "Discontinuation is dated before enrollment."})
    episode.discontinued_on = on
    episode.discontinuation_reason = reason
    episode.discontinuation_note = note.strip()
    _move(
        episode,
        to_status=S.DISCONTINUED,
        action="discontinue",
        actor=actor,
        reason=note.strip(),
        details={"reason": reason},
        fields=("discontinued_on", "discontinuation_reason", "discontinuation_note"),
    )
    _close_tasks(episode, AUTHORIZATION_TASK, actor)
    _cancel_enrollment_tasks(episode, actor)
    if reason not in (
        DiscontinuationReason.DEATH,
        DiscontinuationReason.LOST_ELIGIBILITY,
    ):
        _notify(episode, "discontinuation", actor)
    return episode


def end_episodes_on_termination(*, member_ids, plan_id, end_date, source) -> None:
    """Hook for the 834 import: a terminated enrollment ends the member's open
    episode with that plan (reason: lost Medi-Cal or moved) at the span's end,
    unless the member is still enrolled with the plan after it."""
    from calaim.accounts.services import system_account

    for episode in Episode.objects.filter(
        member_id__in=member_ids, plan_id=plan_id, closed_at__isnull=True
    ).select_related("plan"):
        still_enrolled = enrolled_members(
            plan_id=plan_id, on=end_date + timedelta(days=1)
        ).filter(member_id=episode.member_id)
        if still_enrolled.exists():
            continue
        actor = system_account(organization=episode.plan, name="834 import")
        if episode.status in (S.IDENTIFIED, S.AUTHORIZATION_REQUESTED):
            episode = _locked(episode, None)
            episode.decision_reason = "Lost Medi-Cal enrollment with the plan."
            _move(
                episode,
                to_status=S.DENIED,
                action="closed_by_termination",
                actor=actor,
                fields=("decision_reason",),
            )
            _close_tasks(episode, AUTHORIZATION_TASK, actor)
            continue
        episode = _locked(episode, None)
        episode.discontinued_on = max(end_date, episode.enrolled_on or end_date)
        episode.discontinuation_reason = DiscontinuationReason.LOST_ELIGIBILITY
        _move(
            episode,
            to_status=S.DISCONTINUED,
            action="discontinue",
            actor=actor,
            reason=f"834 termination from file {getattr(source, 'pk', '')}",
            details={"reason": DiscontinuationReason.LOST_ELIGIBILITY},
            fields=("discontinued_on", "discontinuation_reason"),
        )
        _cancel_enrollment_tasks(episode, actor)
