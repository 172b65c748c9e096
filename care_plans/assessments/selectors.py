"""Reads of assessments: a member's history, RTF dates, suggested needs, and the
one place answers are prepared for a reader, with Part 2 content withheld from
whoever 42 CFR Part 2 does not let see it (`present`).
"""

from dataclasses import dataclass, field

from django.db.models import Max, Q
from django.utils import timezone

from calaim.prepared import prepared_list
from care_plans.assessments import definition as rules
from care_plans.assessments.models import Assessment, AssessmentTemplate
from members import part2

HISTORY_LIMIT = 50
_LIST_COLUMNS = (
    "uuid",
    "member_id",
    "episode_id",
    "template_id",
    "status",
    "scores",
    "version",
    "started_at",
    "started_by_id",
    "completed_at",
    "completed_by_id",
    "updated_at",
    "template__uuid",
    "template__code",
    "template__name",
    "template__version",
    "started_by__full_name",
    "completed_by__full_name",
)


def published_templates():
    """The templates new assessments may use (one version per code)."""
    return AssessmentTemplate.objects.filter(
        status=AssessmentTemplate.Status.PUBLISHED
    ).order_by("code")


def assessments_of(member, *, limit: int = HISTORY_LIMIT) -> list[Assessment]:
    """The member's assessments, newest first, without their answers (one query)."""
    return prepared_list(
        ("assessments.assessments_of", limit),
        lambda member_id: (
            Assessment.objects.filter(member_id=member_id)
            .select_related("template", "started_by", "completed_by")
            .only(*_LIST_COLUMNS)
            .order_by("-started_at", "-id")[:limit]
        ),
        member.pk,
    )


def latest_completed_assessment(member) -> Assessment | None:
    """The member's most recently completed assessment, with its template."""
    return (
        Assessment.objects.filter(member=member, status=Assessment.Status.COMPLETED)
        .select_related("template")
        .order_by("-completed_at", "-id")
        .first()
    )


def latest_assessment_dates(member) -> dict:
    """The RTF's `assessment_started_date` (the latest assessment's start) and
    `most_recent_completed_assessment_date`, as local dates or None (one query)."""
    found = Assessment.objects.filter(member=member).aggregate(
        started=Max("started_at"),
        completed=Max("completed_at", filter=Q(status=Assessment.Status.COMPLETED)),
    )
    return {
        key: timezone.localdate(value) if value is not None else None
        for key, value in found.items()
    }


def suggested_needs(assessment: Assessment) -> list[dict]:
    """The social (and other) needs a completed assessment found, for the care
    plan: [{"domain", "description", "question"}], in the template's order.

    `domain` is one of care_plans.models.NeedDomain; `question` is the question
    key (or, for a need a score finds, such as interpersonal safety, the score's
    key). Empty for a draft. Part 2 content never suggests a need (the template
    check refuses it), so the result carries none.
    """
    if assessment.is_draft:
        return []
    return rules.needs_found(
        assessment.template.definition, assessment.answers, assessment.scores
    )


# --- Presenting answers to a reader (Part 2) ----------------------------------------


@dataclass
class Presented:
    """What a reader may see of one assessment."""

    answers: dict
    scores: dict
    part2_disclosed: bool = False  # Part 2 content is included: show the notice
    part2_withheld: bool = False  # Part 2 content was removed for this reader
    withheld_keys: set = field(default_factory=set)


def has_part2_content(assessment: Assessment) -> bool:
    definition = assessment.template.definition
    part2_questions = {q.key for q in rules.questions(definition) if q.part2}
    return bool(part2_questions.intersection(assessment.answers)) or any(
        score.get("part2") for score in assessment.scores.values()
    )


def part2_allowed(user, member, cache: dict | None = None) -> bool:
    """members.part2's answer for `user` and `member`, asked once per request
    (`cache`: a dict the caller keeps for the request)."""
    if cache is not None and member.pk in cache:
        return cache[member.pk]
    allowed = part2.part2_disclosure_allowed(user, member)
    if cache is not None:
        cache[member.pk] = allowed
    return allowed


def present(
    assessment: Assessment, user, *, member=None, cache: dict | None = None
) -> Presented:
    """The assessment's answers and scores as `user` may see them.

    Part 2 answers (and scores made from them) are included only when
    members.part2 allows disclosure to `user` (the treating care team, or a
    consent naming the user's organization); then `part2_disclosed` asks the
    caller to show the redisclosure notice. Otherwise they are removed and the
    withholding is recorded in the audit trail (members.part2.part2_withheld).
    An assessment without Part 2 content asks nothing.
    """
    if not has_part2_content(assessment):
        return Presented(dict(assessment.answers), dict(assessment.scores))
    member = member or assessment.member
    if part2_allowed(user, member, cache):
        return Presented(
            dict(assessment.answers), dict(assessment.scores), part2_disclosed=True
        )
    definition = assessment.template.definition
    withheld = {q.key for q in rules.questions(definition) if q.part2}
    answers = {k: v for k, v in assessment.answers.items() if k not in withheld}
    scores = {k: v for k, v in assessment.scores.items() if not v.get("part2")}
    recorded = ("withheld", member.pk)
    if cache is None or recorded not in cache:
        # Once per member and request: a list withholds from many assessments.
        part2.part2_withheld(user=user, member=member, what="assessment_answers")
        if cache is not None:
            cache[recorded] = True
    return Presented(answers, scores, part2_withheld=True, withheld_keys=withheld)
