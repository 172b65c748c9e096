"""Writes for comprehensive assessments and their templates.

Assessments: start, save a draft, complete. Each locks the row, checks the
caller's version when one is sent (stale -> ConflictError `stale_version`, 409),
checks the answers against the assessment's own template version (an unknown
question, a value outside the choices, a wrong type -> ValidationError naming
the question as `answers.<key>`, 400, nothing written), writes, bumps the
version and records an audit event.

Who writes (DESIGN.md §3, issue 6): the care team of the member's open episode —
its lead care manager (or a care manager of the same provider with an explicit
grant for the member: a covering colleague), the ECM provider's supervisors, and
the provider's API client. Everyone else who sees the member reads (plan
administrators); whoever does not see the member gets Http404.

Templates: a draft is edited; publishing checks the definition, retires the
version published before and freezes this one; editing a published template
means creating its next version (`template_new_version`).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.work.services import tasks_close_for_source
from care_plans.assessments import definition as rules
from care_plans.assessments.models import Assessment, AssessmentTemplate
from care_plans.models import Episode, EpisodeStatus
from care_plans.services.episodes import ASSESSMENT_TASK
from members.models import Member, MemberGrant

ECM_TEMPLATE_CODE = "ecm-comprehensive"
# An assessment follows the member's consent to ECM (DESIGN.md §4.2).
ASSESSABLE_STATUSES = {EpisodeStatus.ENROLLED, EpisodeStatus.ACTIVE}


# --- Who may write ------------------------------------------------------------------


def is_care_team(actor, episode: Episode) -> bool:
    """Whether `actor` is on the care team of `episode` for assessments.

    The lead care manager; a care manager of the episode's provider holding an
    unexpired explicit grant for the member (covering, care-team colleague);
    the provider's supervisors and API client. Roles are checked by the caller
    (the permission), organization and responsibility here.
    """
    if episode.closed_at is not None or episode.ecm_provider_id is None:
        return False
    if actor.organization_id != episode.ecm_provider_id:
        return False
    if actor.has_role(roles.SUPERVISOR, roles.PROVIDER_API):
        return True
    if not actor.has_role(roles.CARE_MANAGER):
        return False
    if episode.lead_care_manager_id == actor.pk:
        return True
    return MemberGrant.objects.filter(
        user_id=actor.pk,
        content_object_id=episode.member_id,
        expires_at__gt=timezone.now(),
        kind__in=[MemberGrant.Kind.COVERING, MemberGrant.Kind.CARE_TEAM],
    ).exists()


def _require_writer(actor, member_id: int, episode: Episode | None, permission):
    """404 for a member the actor may not see, then 403 for the role, then 403
    for someone outside the care team of the open episode."""
    if not registry.member_is_visible(actor, member_id):
        raise Http404("No such member.")
    registry.require_permission(actor, permission)
    if episode is None or not is_care_team(actor, episode):
        raise PermissionDenied(
            "Only the care team of the member's open ECM episode writes assessments."
        )


# --- Answers ------------------------------------------------------------------------


def clean_answers(template: AssessmentTemplate, answers) -> dict:
    """The given answers checked against `template`, in their stored form.

    A value of None clears the answer (kept as None here, removed on merge).
    Raises one ValidationError listing every bad answer as `answers.<key>`.
    """
    cleaned, errors = _clean_each(template, answers)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_each(template: AssessmentTemplate, answers) -> tuple[dict, dict]:
    """The answers that fit, and an error per answer that does not."""
    if not isinstance(answers, dict):
        raise ValidationError(
            {"answers": ValidationError("Give an object of answers.", code="invalid")}
        )
    by_key = rules.question_map(template.definition)
    today = timezone.localdate()
    cleaned, errors = {}, {}
    for key, value in answers.items():
        question = by_key.get(key)
        if question is None:
            errors[f"answers.{key}"] = ValidationError(
                f"No question {key!r} in {template.name} v{template.version}.",
                code="unknown_question",
            )
            continue
        if value is None:
            cleaned[key] = None
            continue
        try:
            cleaned[key] = rules.clean_answer(question, value, today=today)
        except rules.AnswerError as error:
            errors[f"answers.{key}"] = ValidationError(
                f"{question.spec['text']}: {error.message}", code=error.code
            )
    return cleaned, errors


def _merge(stored: dict, cleaned: dict) -> dict:
    merged = dict(stored)
    for key, value in cleaned.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _locked(assessment: Assessment, expected_version: int | None) -> Assessment:
    current = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("template", "episode")
        .get(pk=assessment.pk)
    )
    if expected_version is not None and expected_version != current.version:
        raise ConflictError(
            f"This assessment changed since you loaded it (version "
            f"{expected_version}, now {current.version}); reload and try again.",
            code="stale_version",
        )
    if not current.is_draft:
        raise ValidationError(
            {
                "status": ValidationError(
                    "This assessment is completed and no longer changes.",
                    code="completed",
                )
            }
        )
    return current


def _audit(assessment: Assessment, action: str, actor, reason: str = "") -> None:
    audit_record(
        action=action,
        object_type="assessment",
        object_id=str(assessment.uuid),
        member_ids=[assessment.member_id],
        actor=actor,
        reason=reason,
    )


# --- Assessments --------------------------------------------------------------------


def current_template(code: str = ECM_TEMPLATE_CODE) -> AssessmentTemplate | None:
    """The published version of the template `code` (what new assessments use)."""
    return AssessmentTemplate.objects.filter(
        code=code, status=AssessmentTemplate.Status.PUBLISHED
    ).first()


@transaction.atomic
def assessment_start(
    *, member: Member, actor, template: AssessmentTemplate | None = None
) -> Assessment:
    """Start a comprehensive assessment of `member` in their open ECM episode.

    With the published ECM template unless another published one is given. The
    episode must be enrolled or active; one draft per episode at a time (a
    second start is refused with 409 `draft_exists`, so the draft is resumed).
    """
    episode = (
        Episode.objects.select_for_update()
        .filter(member=member, closed_at__isnull=True)
        .first()
    )
    _require_writer(actor, member.pk, episode, "assessments.add_assessment")
    if episode.status not in ASSESSABLE_STATUSES:
        raise ValidationError(
            {
                "episode": ValidationError(
                    "Assess the member once they have enrolled in ECM (the "
                    f"episode is {episode.get_status_display().lower()}).",
                    code="not_enrolled",
                )
            }
        )
    if template is None:
        template = current_template()
        if template is None:
            raise ValidationError(
                {"template": ValidationError("No published template.", code="none")}
            )
    elif template.status != AssessmentTemplate.Status.PUBLISHED:
        raise ValidationError(
            {
                "template": ValidationError(
                    "Only a published template is used for new assessments.",
                    code="not_published",
                )
            }
        )
    draft = Assessment.objects.filter(
        episode=episode, status=Assessment.Status.DRAFT
    ).first()
    if draft is not None:
        raise ConflictError(
            f"A draft assessment (started "
            f"{timezone.localtime(draft.started_at):%b %-d, %Y}) is open; resume it.",
            code="draft_exists",
        )
    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                member=member,
                episode=episode,
                template=template,
                started_at=timezone.now(),
                started_by=actor,
            )
    except IntegrityError as race:
        raise ConflictError(
            "A draft assessment was just started; resume it.", code="draft_exists"
        ) from race
    _audit(assessment, "create", actor)
    return assessment


@transaction.atomic
def assessment_save_draft(
    *,
    assessment: Assessment,
    answers: dict,
    actor,
    expected_version: int | None = None,
) -> Assessment:
    """Save answers to a draft: the given ones replace (None clears), the rest stay.

    Answers to questions a condition now hides are kept in the draft (the member
    may change the earlier answer back) and dropped on completion.
    """
    _require_writer(
        actor, assessment.member_id, assessment.episode, "assessments.change_assessment"
    )
    assessment = _locked(assessment, expected_version)
    cleaned = clean_answers(assessment.template, answers)
    assessment.answers = _merge(assessment.answers, cleaned)
    assessment.version += 1
    assessment.save(update_fields=["answers", "version", "updated_at"])
    _audit(assessment, "update", actor, reason="save_draft")
    return assessment


@transaction.atomic
def assessment_complete(
    *,
    assessment: Assessment,
    actor,
    answers: dict | None = None,
    expected_version: int | None = None,
) -> Assessment:
    """Complete a draft: every required question that is shown must be answered.

    The given answers are saved first (as in a draft). Answers to questions a
    condition hides are dropped, the scores computed from what remains, and the
    assessment no longer changes. Missing answers: one error per question
    (`answers.<key>`, code `required`), nothing written.
    """
    _require_writer(
        actor,
        assessment.member_id,
        assessment.episode,
        "assessments.complete_assessment",
    )
    assessment = _locked(assessment, expected_version)
    definition = assessment.template.definition
    cleaned, errors = _clean_each(assessment.template, answers or {})
    merged = _merge(assessment.answers, cleaned)
    shown = rules.visible_keys(definition, merged)
    by_key = rules.question_map(definition)
    # Every problem at once: the answers that do not fit and the ones missing.
    for key in shown:
        if by_key[key].required and key not in merged:
            errors.setdefault(
                f"answers.{key}",
                ValidationError(
                    f"{by_key[key].spec['text']}: an answer is required.",
                    code="required",
                ),
            )
    if errors:
        raise ValidationError(errors)
    final = {key: merged[key] for key in shown if key in merged}
    now = timezone.now()
    assessment.answers = final
    assessment.scores = rules.compute_scores(definition, final)
    assessment.status = Assessment.Status.COMPLETED
    assessment.completed_at = now
    assessment.completed_by = actor
    assessment.version += 1
    assessment.save(
        update_fields=[
            "answers",
            "scores",
            "status",
            "completed_at",
            "completed_by",
            "version",
            "updated_at",
        ]
    )
    _audit(assessment, "update", actor, reason="complete")
    # The episode's 60-day assessment clock (DOMAIN.md §10b) is met.
    tasks_close_for_source(source=assessment.episode, kind=ASSESSMENT_TASK, actor=actor)
    return assessment


# --- Templates ----------------------------------------------------------------------


def _check_definition(definition) -> None:
    try:
        rules.validate_definition(definition)
    except rules.DefinitionError as error:
        raise ValidationError({"definition": error.problems}) from error


def _require_template_admin(actor) -> None:
    registry.require_permission(actor, "assessments.change_assessmenttemplate")


@transaction.atomic
def template_create(*, code: str, name: str, definition, actor) -> AssessmentTemplate:
    """A new template (version 1, a draft), or the next version of `code`."""
    _require_template_admin(actor)
    _check_definition(definition)
    if AssessmentTemplate.objects.filter(
        code=code, status=AssessmentTemplate.Status.DRAFT
    ).exists():
        raise ValidationError(
            {"code": ValidationError("A draft of it exists; edit that.", code="draft")}
        )
    latest = AssessmentTemplate.objects.filter(code=code).order_by("-version").first()
    template = AssessmentTemplate.objects.create(
        code=code,
        name=name,
        version=(latest.version + 1) if latest else 1,
        definition=definition,
        created_by=actor,
    )
    audit_record(
        action="create",
        object_type="assessment_template",
        object_id=str(template.uuid),
        actor=actor,
    )
    return template


@transaction.atomic
def template_new_version(*, template: AssessmentTemplate, actor) -> AssessmentTemplate:
    """The next version of a template, as a draft copy of `template`."""
    return template_create(
        code=template.code,
        name=template.name,
        definition=template.definition,
        actor=actor,
    )


@transaction.atomic
def template_update_draft(
    *, template: AssessmentTemplate, name: str, definition, actor
) -> AssessmentTemplate:
    """Edit a draft version; a published or retired one is refused."""
    _require_template_admin(actor)
    template = AssessmentTemplate.objects.select_for_update().get(pk=template.pk)
    if not template.is_draft:
        raise ValidationError(
            {
                "status": ValidationError(
                    f"Version {template.version} is "
                    f"{template.get_status_display().lower()} and never changes; "
                    "create its next version instead.",
                    code="immutable",
                )
            }
        )
    _check_definition(definition)
    template.name = name
    template.definition = definition
    template.save(update_fields=["name", "definition"])
    audit_record(
        action="update",
        object_type="assessment_template",
        object_id=str(template.uuid),
        actor=actor,
    )
    return template


@transaction.atomic
def template_publish(*, template: AssessmentTemplate, actor) -> AssessmentTemplate:
    """Publish a draft version; the version published before is retired."""
    _require_template_admin(actor)
    template = AssessmentTemplate.objects.select_for_update().get(pk=template.pk)
    if not template.is_draft:
        raise ValidationError(
            {"status": ValidationError("Only a draft is published.", code="not_draft")}
        )
    _check_definition(template.definition)
    now = timezone.now()
    AssessmentTemplate.objects.filter(
        code=template.code, status=AssessmentTemplate.Status.PUBLISHED
    ).update(status=AssessmentTemplate.Status.RETIRED, retired_at=now)
    template.status = AssessmentTemplate.Status.PUBLISHED
    template.published_at = now
    template.save(update_fields=["status", "published_at"])
    audit_record(
        action="update",
        object_type="assessment_template",
        object_id=str(template.uuid),
        actor=actor,
        reason="publish",
    )
    return template


@transaction.atomic
def template_retire(*, template: AssessmentTemplate, actor) -> AssessmentTemplate:
    """Retire a published version: no new assessments start with it."""
    _require_template_admin(actor)
    template = AssessmentTemplate.objects.select_for_update().get(pk=template.pk)
    if template.status != AssessmentTemplate.Status.PUBLISHED:
        raise ValidationError(
            {"status": ValidationError("Only a published version is retired.",
                                       code="not_published")}
        )  # fmt: skip
    template.status = AssessmentTemplate.Status.RETIRED
    template.retired_at = timezone.now()
    template.save(update_fields=["status", "retired_at"])
    audit_record(
        action="update",
        object_type="assessment_template",
        object_id=str(template.uuid),
        actor=actor,
        reason="retire",
    )
    return template
