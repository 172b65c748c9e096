"""Comprehensive assessments: versioned templates and the assessments made with them."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from care_plans.models import Episode
from members.models import Member


class AssessmentTemplate(models.Model):
    """One version of an assessment template (DESIGN.md: data, not code).

    Versions of one template share a `code` and are numbered. A draft is edited;
    publishing makes it the version new assessments use (and retires the one
    published before); a published or retired version never changes again (the
    services refuse it, and a database trigger refuses an UPDATE of its
    definition), so a completed assessment always reads the questions it was
    answered with. Editing a published template means creating its next version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(
        max_length=60, help_text="The same for every version of one template."
    )
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    definition = models.JSONField(
        help_text="Sections, questions, conditions and scores; checked against "
        "the JSON schema in care_plans/assessments/definition.py."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="assessment_template_version_once"
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status="published"),
                name="assessment_template_one_published",
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status="draft"),
                name="assessment_template_one_draft",
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="assessment_template_published_has_date",
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version} ({self.get_status_display()})"

    def clean(self):
        from care_plans.assessments.definition import (
            DefinitionError,
            validate_definition,
        )

        try:
            validate_definition(self.definition)
        except DefinitionError as error:
            raise ValidationError({"definition": error.problems}) from error

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class Assessment(models.Model):
    """A member's comprehensive assessment within an ECM episode.

    Answers are a JSON object keyed by the template's question keys; `scores`
    are computed on completion. A draft is saved, resumed and completed; a
    completed assessment does not change. `version` rises with every save, and a
    save made against an older one is refused (409 stale_version). Answers to
    Part 2 questions are PHI under 42 CFR Part 2 and leave only through the
    selectors that withhold them (care_plans.assessments.selectors.present).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        COMPLETED = "completed", "Completed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="assessments"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="assessments"
    )
    template = models.ForeignKey(
        AssessmentTemplate, on_delete=models.PROTECT, related_name="assessments"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    answers = models.JSONField(default=dict, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("complete_assessment", "Complete an assessment")]
        constraints = [
            models.UniqueConstraint(
                fields=["episode"],
                condition=Q(status="draft"),
                name="assessment_one_draft_per_episode",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(completed_at__isnull=False) & Q(completed_by__isnull=False)),
                name="assessment_completed_has_when_and_who",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-started_at"], name="assessment_by_member"),
        ]

    def __str__(self):
        return f"Assessment {self.uuid} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT
