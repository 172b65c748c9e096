"""The network: the Community Supports catalog, plan offerings and contracts.

A Community Support is identified in claims by an HCPCS code *and* a modifier
(DOMAIN.md §3c): H0044-U2 is a housing deposit, H0044-U5 a set-up expense, so a
`ServiceCode` row is the pair and no two supports may hold the same pair on the
same day. Limits are data (`SupportLimit`), evaluated by `limits.evaluate`.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q, Value

from calaim.accounts.models import County, Organization


def _span(start="start_date", end="end_date"):
    """daterange(start, end, '[]'): an inclusive span; a null end is open."""
    return Func(
        F(start),
        F(end),
        Value("[]"),
        function="daterange",
        output_field=DateRangeField(),
    )


def _check_span(row, start: str, end: str) -> None:
    """End on or after start, checked before the exclusion constraint (whose
    daterange() would fail on a reversed span)."""
    first, last = getattr(row, start), getattr(row, end)
    if first and last and last < first:
        raise ValidationError({end: "The end date is before the start date."})


class CatalogRow(models.Model):
    """What the catalog loader needs to leave an administrator's edit alone.

    `content_hash` is the hash of the values the loader last wrote; a row whose
    `edited_by_admin` is set is never overwritten by the loader.
    """

    edited_by_admin = models.BooleanField(default=False)
    content_hash = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CommunitySupport(CatalogRow):
    """One of the 15 Community Supports (DOMAIN.md §3a)."""

    class Volume(models.IntegerChoices):
        HEALTH_RELATED = 1, "Vol 1: health-related social needs"
        HOUSING = 2, "Vol 2: housing"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, blank=True, default="")
    description = models.TextField(blank=True, default="")
    eligibility_summary = models.TextField(blank=True, default="")
    volume = models.PositiveSmallIntegerField(choices=Volume.choices)
    sort_order = models.PositiveSmallIntegerField(default=0)
    # Transitional Rent: optional for plans in 2025, mandatory from 1/1/2026.
    mandatory_from = models.DateField(null=True, blank=True)
    # Sobering centers may be authorized after the service.
    retro_authorization_allowed = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.name


class ServiceCode(CatalogRow):
    """An HCPCS code + modifier(s) pair billing one support, with its dates."""

    class Unit(models.TextChoices):
        PER_DIEM = "day", "per diem"
        PER_MONTH = "month", "per month"
        PER_MEAL = "meal", "per meal"
        PER_15_MINUTES = "15min", "per 15 minutes"
        PER_HOUR = "hour", "per hour"
        PER_SERVICE = "service", "per service"
        PER_ENCOUNTER = "encounter", "per encounter"

    support = models.ForeignKey(
        CommunitySupport, on_delete=models.PROTECT, related_name="service_codes"
    )
    hcpcs = models.CharField(
        "HCPCS",
        max_length=5,
        validators=[RegexValidator(r"^[A-Z]\d{4}$", "An HCPCS code is like H0044.")],
    )
    modifier = models.CharField(
        max_length=2,
        blank=True,
        default="",
        validators=[RegexValidator(r"^[A-Z0-9]{2}$", "A modifier is 2 characters.")],
    )
    # A second modifier where the pair needs one (T1016-U8-GQ: by phone).
    modifier_2 = models.CharField(
        "second modifier",
        max_length=2,
        blank=True,
        default="",
        validators=[RegexValidator(r"^[A-Z0-9]{2}$", "A modifier is 2 characters.")],
    )
    description = models.CharField(max_length=200, blank=True, default="")
    unit = models.CharField(max_length=10, choices=Unit.choices)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["support__sort_order", "hcpcs", "modifier", "modifier_2"]
        indexes = [
            models.Index(fields=["hcpcs", "modifier"], name="service_code_pair"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=F("effective_from")),
                name="service_code_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=~Q(modifier="") | Q(modifier_2=""),
                name="service_code_second_modifier_needs_first",
            ),
            # A pair means one support on any day: never two rows for the same
            # pair with overlapping dates.
            ExclusionConstraint(
                name="service_code_pair_dates_do_not_overlap",
                expressions=[
                    ("hcpcs", RangeOperators.EQUAL),
                    ("modifier", RangeOperators.EQUAL),
                    ("modifier_2", RangeOperators.EQUAL),
                    (_span("effective_from", "effective_to"), RangeOperators.OVERLAPS),
                ],
                violation_error_message=(
                    "This HCPCS code and modifier pair is already in use on "
                    "some of these dates."
                ),
            ),
        ]

    def __str__(self):
        return self.pair

    def clean(self):
        _check_span(self, "effective_from", "effective_to")

    @property
    def pair(self) -> str:
        return "-".join(p for p in (self.hcpcs, self.modifier, self.modifier_2) if p)

    def in_effect_on(self, day) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class SupportLimit(CatalogRow):
    """A limit on a support, as data; `limits.evaluate` gives it meaning.

    `quantity` is in the kind's unit (occurrences, dollars, days, hours, units,
    meals a day); `window_days` is the rolling window of `days_per_window`;
    `weeks` is the course length of `meals_per_day_weeks`.
    """

    class Kind(models.TextChoices):
        ONCE_PER_LIFETIME = "once_per_lifetime", "Occurrences per lifetime"
        DOLLARS_PER_LIFETIME = "dollars_per_lifetime", "Dollars per lifetime"
        UNITS_PER_LIFETIME = "units_per_lifetime", "Units per lifetime"
        DAYS_PER_STAY = "days_per_stay", "Days per continuous stay"
        DAYS_PER_WINDOW = "days_per_window", "Days within a rolling window"
        HOURS_PER_YEAR = "hours_per_year", "Hours per calendar year"
        DAYS_PER_YEAR = "days_per_year", "Days per calendar year"
        MEALS_PER_DAY_WEEKS = "meals_per_day_weeks", "Meals per day for N weeks"

    support = models.ForeignKey(
        CommunitySupport, on_delete=models.CASCADE, related_name="limits"
    )
    key = models.SlugField(max_length=60)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    quantity = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    window_days = models.PositiveIntegerField(null=True, blank=True)
    weeks = models.PositiveIntegerField(null=True, blank=True)
    # May be exceeded once in the member's lifetime with a documented exception
    # (e.g. a second housing deposit after a change of conditions).
    exception_allowed_once = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["support__sort_order", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["support", "key"], name="support_limit_key_unique"
            ),
            models.CheckConstraint(
                condition=~Q(kind="days_per_window") | Q(window_days__gt=0),
                name="support_limit_window_needs_days",
            ),
            models.CheckConstraint(
                condition=~Q(kind="meals_per_day_weeks") | Q(weeks__gt=0),
                name="support_limit_meals_need_weeks",
            ),
        ]

    def __str__(self):
        return f"{self.support}: {self.description or self.get_kind_display()}"


class CatalogChange(models.Model):
    """One field changed by an administrator on a catalog row (who, when, old, new).

    The admin's own LogEntry says *that* a row changed; this says *what*, which
    is what an auditor asks when a limit or a code moved.
    """

    model = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    field = models.CharField(max_length=60)
    old_value = models.TextField(blank=True, default="")
    new_value = models.TextField(blank=True, default="")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["model", "object_id"], name="catalog_change_object"),
        ]

    def __str__(self):
        return f"{self.model} {self.object_id}.{self.field}"


class PlanOffering(models.Model):
    """A plan offers a support in a county from `start_date` to `end_date`."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="cs_offerings",
        limit_choices_to={"is_plan": True},
    )
    support = models.ForeignKey(
        CommunitySupport, on_delete=models.PROTECT, related_name="offerings"
    )
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan_id", "support__sort_order", "county_id", "start_date"]
        indexes = [
            models.Index(
                fields=["plan", "support", "county", "start_date"],
                name="offering_lookup",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="offering_ends_after_it_starts",
            ),
            ExclusionConstraint(
                name="offerings_do_not_overlap",
                expressions=[
                    ("plan", RangeOperators.EQUAL),
                    ("support", RangeOperators.EQUAL),
                    ("county", RangeOperators.EQUAL),
                    (_span(), RangeOperators.OVERLAPS),
                ],
                violation_error_message=(
                    "The plan already offers this support in this county on "
                    "some of these dates."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.plan} offers {self.support} in {self.county}"

    def clean(self):
        _check_span(self, "start_date", "end_date")

    def in_force_on(self, day) -> bool:
        return self.start_date <= day and (
            self.end_date is None or day <= self.end_date
        )


class ProviderContract(models.Model):
    """A plan's contract with a provider organization for ECM or Community Supports."""

    class Service(models.TextChoices):
        ECM = "ecm", "Enhanced Care Management"
        COMMUNITY_SUPPORTS = "cs", "Community Supports"

    class CapacityUnit(models.TextChoices):
        MEMBERS = "members", "members at once"
        UNITS = "units", "units of service at once"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="contracts_as_plan",
        limit_choices_to={"is_plan": True},
    )
    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts_as_provider"
    )
    service = models.CharField(max_length=3, choices=Service.choices)
    # The Community Supports a CS contract covers (empty for ECM).
    supports = models.ManyToManyField(
        CommunitySupport, related_name="contracts", blank=True
    )
    counties = models.ManyToManyField(County, related_name="+")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    rate_per_unit = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    # How much the provider may take on for this plan at once (None: no cap),
    # counted in members (open episodes/referrals) or units of service.
    capacity = models.PositiveIntegerField(null=True, blank=True)
    capacity_unit = models.CharField(
        max_length=8, choices=CapacityUnit.choices, default=CapacityUnit.MEMBERS
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    may_presumptively_authorize = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan_id", "provider__name"]
        indexes = [
            models.Index(
                fields=["plan", "service", "provider"], name="contract_lookup"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="contract_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.get_service_display()}: {self.plan} – {self.provider}"

    def clean(self):
        _check_span(self, "start_date", "end_date")

    def in_force_on(self, day) -> bool:
        return (
            self.status == self.Status.ACTIVE
            and self.start_date <= day
            and (self.end_date is None or day <= self.end_date)
        )
