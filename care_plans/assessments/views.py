"""Assessment pages: the chart panel, the form (save a draft, resume, complete),
its htmx refresh of conditional questions, the read-only view and the history.

Every page fetches through an access function (404 for a member or assessment
the user may not see), then checks the role (403), then, for writes, the care
team (403). Services hold the rules; their ValidationError is shown at the
question it names (400), a ConflictError as "changed since you loaded it"
(409). Part 2 answers are left out of the form and the view for a user
members.part2 does not let see them, and the withholding is audited.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from care_plans.assessments import definition as rules
from care_plans.assessments import selectors, services
from care_plans.assessments.access import access_assessment
from care_plans.assessments.models import Assessment
from members import part2
from members.access import access_member

FIELD_PREFIX = "q-"


# --- Reading the form ---------------------------------------------------------------


def _posted_values(definition, post, withheld: set) -> dict:
    """The answers of the questions the form showed (each carries a `present`
    marker), as JSON-like values: an empty field clears its answer (None). A
    value that does not parse is passed on as typed, so the service names the
    problem at its question."""
    by_key = rules.question_map(definition)
    values = {}
    for key in post.getlist("present"):
        question = by_key.get(key)
        if question is None or key in withheld or key in values:
            continue
        name = FIELD_PREFIX + key
        if question.type == "multi_choice":
            values[key] = post.getlist(name) or None
            continue
        raw = post.get(name, "").strip()
        if not raw:
            values[key] = None
        elif question.type == "yes_no":
            values[key] = {"yes": True, "no": False}.get(raw, raw)
        elif question.type == "number":
            values[key] = _number(raw)
        else:
            values[key] = raw
    return values


def _number(raw: str):
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def _lenient(template, values: dict) -> dict:
    """`values` over the stored draft for deciding what to show: an answer that
    does not fit counts as no answer."""
    by_key = rules.question_map(template.definition)
    today = timezone.localdate()
    cleaned = {}
    for key, value in values.items():
        try:
            cleaned[key] = (
                None
                if value is None
                else rules.clean_answer(by_key[key], value, today=today)
            )
        except rules.AnswerError:
            cleaned[key] = None
    return cleaned


def _merged(stored: dict, cleaned: dict) -> dict:
    merged = dict(stored)
    for key, value in cleaned.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# --- Drawing the form ---------------------------------------------------------------


def _display_value(question, value):
    if value is None:
        return ""
    if question.type == "yes_no":
        return {True: "yes", False: "no"}.get(value, str(value))
    return value


def _question_context(question, value, *, shown: bool, error: str = "") -> dict:
    spec = question.spec
    value = _display_value(question, value)
    selected = value if isinstance(value, list) else [value]
    return {
        "key": question.key,
        "name": FIELD_PREFIX + question.key,
        "text": spec["text"],
        "help": spec.get("help", ""),
        "type": question.type,
        "required": question.required,
        "conditional": question.conditional,
        "part2": question.part2,
        "shown": shown,
        "value": value,
        "choices": [
            {**choice, "checked": choice["value"] in selected}
            for choice in spec.get("choices") or []
        ],
        "min": spec.get("min"),
        "max": spec.get("max"),
        "integer": spec.get("integer", True),
        "max_length": spec.get("max_length", rules.TEXT_MAX_LENGTH),
        "error": error,
    }


def _sections(definition, values: dict, shown: set, withheld: set, errors: dict):
    sections = []
    for section in definition["sections"]:
        items = []
        for spec in section["questions"]:
            question = rules.Question(section["key"], spec)
            if question.key in withheld:
                continue
            items.append(
                _question_context(
                    question,
                    values.get(question.key),
                    shown=question.key in shown,
                    error=errors.get(question.key, ""),
                )
            )
        sections.append(
            {
                "key": section["key"],
                "title": section["title"],
                "description": section.get("description", ""),
                "questions": items,
                "part2": any(spec.get("part2") for spec in section["questions"]),
                "withheld": not items,
                "errors": sum(1 for item in items if item["error"]),
            }
        )
    return sections


def _part2_keys(definition) -> set:
    return {q.key for q in rules.questions(definition) if q.part2}


def _form_withheld(request, assessment) -> tuple[set, bool]:
    """The Part 2 questions to leave out of the form for this user, and whether
    Part 2 content is shown (the notice goes under it)."""
    keys = _part2_keys(assessment.template.definition)
    if not keys:
        return set(), False
    if selectors.part2_allowed(request.user, assessment.member):
        return set(), bool(keys.intersection(assessment.answers))
    if keys.intersection(assessment.answers):
        part2.part2_withheld(
            user=request.user,
            member=assessment.member,
            what="assessment_answers",
        )
    return keys, False


def _require_writer(request, assessment) -> None:
    registry.require_permission(request.user, "assessments.change_assessment")
    if not services.is_care_team(request.user, assessment.episode):
        raise PermissionDenied(
            "Only the care team of the member's open ECM episode writes assessments."
        )


def _error_messages(error: ValidationError) -> tuple[dict, list]:
    """Errors by question key, and the rest as messages for the top of the form."""
    by_question, general = {}, []
    found = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    for field, field_messages in found.items():
        if field.startswith("answers."):
            by_question[field.removeprefix("answers.")] = " ".join(field_messages)
        else:
            general += field_messages
    return by_question, general


def _render_form(request, assessment, *, values=None, errors=None, general=(),
                 status=200):  # fmt: skip
    definition = assessment.template.definition
    withheld, part2_shown = _form_withheld(request, assessment)
    values = assessment.answers if values is None else values
    merged = _merged(assessment.answers, _lenient(assessment.template, values))
    shown = set(rules.visible_keys(definition, merged))
    return render(
        request,
        "assessments/form.html",
        {
            "assessment": assessment,
            "member": assessment.member,
            "sections": _sections(definition, values, shown, withheld, errors or {}),
            "general_errors": list(general),
            "part2_notice": part2.REDISCLOSURE_NOTICE if part2_shown else "",
            "part2_withheld": bool(withheld),
            "refresh_url": reverse("assessment_refresh", args=[assessment.uuid]),
        },
        status=status,
    )


# --- Pages --------------------------------------------------------------------------


@login_required
@require_POST
def assessment_start_view(request, member_uuid):
    """Start the member's comprehensive assessment (from the chart panel)."""
    member = access_member(request.user, member_uuid, audit=False)
    registry.require_permission(request.user, "assessments.add_assessment")
    try:
        assessment = services.assessment_start(member=member, actor=request.user)
    except ConflictError as conflict:
        draft = Assessment.objects.filter(
            member=member, status=Assessment.Status.DRAFT
        ).first()
        messages.warning(request, conflict.message)
        if draft is not None:
            return redirect("assessment_edit", assessment_uuid=draft.uuid)
        return redirect(_chart_url(member))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_chart_url(member))
    messages.success(request, "Assessment started; answers are saved as a draft.")
    return redirect("assessment_edit", assessment_uuid=assessment.uuid)


@login_required
@require_http_methods(["GET", "POST"])
def assessment_edit(request, assessment_uuid):
    """The assessment form: save a draft, resume it later, complete it.

    Without JavaScript it is a plain form; with htmx, conditional questions
    appear and disappear as answers change (assessment_refresh).
    """
    assessment = access_assessment(request.user, assessment_uuid, audit=False)
    _require_writer(request, assessment)
    if not assessment.is_draft:
        return redirect("assessment_detail", assessment_uuid=assessment.uuid)
    if request.method == "GET":
        _audit_view(assessment.member_id, request.user, assessment=assessment)
        return _render_form(request, assessment)

    withheld, _ = _form_withheld(request, assessment)
    values = _posted_values(assessment.template.definition, request.POST, withheld)
    completing = request.POST.get("action") == "complete"
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    service = (
        services.assessment_complete if completing else services.assessment_save_draft
    )
    try:
        saved = service(
            assessment=assessment,
            answers=values,
            actor=request.user,
            expected_version=version,
        )
    except ConflictError as conflict:
        assessment.refresh_from_db()
        return _render_form(
            request,
            assessment,
            general=[
                f"{conflict.message} The answers saved by the other person are "
                "shown; your changes were not saved."
            ],
            status=409,
        )
    except ValidationError as error:
        by_question, general = _error_messages(error)
        return _render_form(
            request,
            assessment,
            values=_merged(assessment.answers, values),
            errors=by_question,
            general=general
            or [
                "Nothing was saved: "
                + (
                    "answer the questions marked below to complete the assessment."
                    if completing
                    else "correct the answers marked below."
                )
            ],
            status=400,
        )
    if completing:
        messages.success(request, "Assessment completed.")
        return redirect("assessment_detail", assessment_uuid=saved.uuid)
    messages.success(request, "Draft saved.")
    return redirect("assessment_edit", assessment_uuid=saved.uuid)


@login_required
@require_POST
def assessment_refresh(request, assessment_uuid):
    """htmx: the conditional questions whose visibility the current answers
    change, as out-of-band swaps (nothing else changes on the page; nothing is
    written). The form marks what it shows with `present`."""
    assessment = access_assessment(request.user, assessment_uuid, audit=False)
    _require_writer(request, assessment)
    definition = assessment.template.definition
    withheld, _ = _form_withheld(request, assessment)
    values = _posted_values(definition, request.POST, withheld)
    merged = _merged(assessment.answers, _lenient(assessment.template, values))
    shown = set(rules.visible_keys(definition, merged))
    on_page = set(request.POST.getlist("present"))
    changed = []
    for question in rules.questions(definition):
        if not question.conditional or question.key in withheld:
            continue
        if (question.key in shown) != (question.key in on_page):
            changed.append(
                _question_context(
                    question,
                    values.get(question.key, assessment.answers.get(question.key)),
                    shown=question.key in shown,
                )
            )
    if not changed:
        return HttpResponse(status=204)
    return render(request, "assessments/_refresh.html", {"changed": changed})


@login_required
@require_GET
def assessment_detail(request, assessment_uuid):
    """An assessment, read-only: answers by section, scores, suggested needs."""
    assessment = access_assessment(request.user, assessment_uuid)
    registry.require_permission(request.user, "assessments.view_assessment")
    presented = selectors.present(assessment, request.user)
    definition = assessment.template.definition
    shown = set(rules.visible_keys(definition, presented.answers))
    sections = []
    for section in definition["sections"]:
        rows = []
        for spec in section["questions"]:
            question = rules.Question(section["key"], spec)
            if question.key not in presented.answers or question.key not in shown:
                continue
            rows.append(
                {
                    "text": spec["text"],
                    "answer": _answer_text(question, presented.answers[question.key]),
                    "part2": question.part2,
                }
            )
        withheld = (
            any(spec.get("part2") for spec in section["questions"])
            and presented.part2_withheld
        )
        sections.append(
            {
                "key": section["key"],
                "title": section["title"],
                "rows": rows,
                "withheld": withheld,
                "part2": any(spec.get("part2") for spec in section["questions"]),
            }
        )
    return render(
        request,
        "assessments/detail.html",
        {
            "assessment": assessment,
            "member": assessment.member,
            "sections": sections,
            "scores": presented.scores,
            "needs": selectors.suggested_needs(assessment),
            "part2_notice": part2.REDISCLOSURE_NOTICE
            if presented.part2_disclosed
            else "",
            "part2_withheld": presented.part2_withheld,
            "can_edit": assessment.is_draft
            and request.user.has_perm("assessments.change_assessment")
            and services.is_care_team(request.user, assessment.episode),
        },
    )


def _answer_text(question, value) -> str:
    if question.type == "yes_no":
        return "Yes" if value else "No"
    if question.type == "multi_choice":
        return ", ".join(question.choice_label(item) for item in value)
    if question.type == "single_choice":
        return question.choice_label(value)
    return str(value)


@login_required
@require_GET
def assessment_history(request, member_uuid):
    """Every assessment of the member, newest first (one query for the rows)."""
    member = access_member(request.user, member_uuid, audit=False)
    registry.require_permission(request.user, "assessments.view_assessment")
    rows = selectors.assessments_of(member)
    _audit_view(member.pk, request.user)
    return render(
        request,
        "assessments/history.html",
        {"member": member, "assessments": rows},
    )


def _audit_view(member_id, user, *, assessment=None) -> None:
    audit_record(
        action="view",
        object_type="assessment" if assessment else "assessment_list",
        object_id=str(assessment.uuid) if assessment else "",
        member_ids=[member_id],
        actor=user,
    )


def _chart_url(member) -> str:
    return f"{reverse('member_chart', args=[member.uuid])}#panel-assessment"


# --- The chart panel (registered in AssessmentsConfig.ready) ------------------------


def assessment_panel(request, member):
    """Chart panel: the latest assessment's status, dates and scores (those
    outside Part 2: Part 2 scores are on the assessment's own page, behind the
    consent check), and the start / resume / view links.

    One query (the member's assessments without their answers); the open
    episode comes from the ECM panels' read of it, shared per request.
    """
    from care_plans.cm_views import latest_episode

    rows = selectors.assessments_of(member, limit=selectors.HISTORY_LIMIT)
    # The care plan panel's suggested needs read this list (chart_views).
    request.__dict__.setdefault("_chart_assessments", {})[member.pk] = rows
    draft = next((row for row in rows if row.is_draft), None)
    completed = next((row for row in rows if not row.is_draft), None)
    user = request.user
    context = {
        "latest": rows[0] if rows else None,
        "draft": draft,
        "completed": completed,
        "scores": [
            score
            for score in (completed.scores.values() if completed else [])
            if not score.get("part2")
        ],
        "count": len(rows),
        "history_url": reverse("assessment_history", args=[member.uuid]),
    }
    if not user.has_perm("assessments.change_assessment"):
        return context
    episode = latest_episode(request, member)
    if episode is None or not services.is_care_team(user, episode):
        return context
    if draft is not None:
        context["resume_url"] = reverse("assessment_edit", args=[draft.uuid])
    elif episode.status in services.ASSESSABLE_STATUSES:
        context["start_url"] = reverse("assessment_start", args=[member.uuid])
    return context
