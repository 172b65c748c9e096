"""Members and their enrollment with plans.

Direct identifiers (name, birth date, CIN) live on Member only; every other table
refers to the member by id. The 834 import's
own records (files, their issues, field changes, snapshots) are at the end.
"""

import uuid
from datetime import date

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from guardian.models import UserObjectPermissionBase

from calaim.accounts.models import County, Organization
from calaim.validators import validate_cin

# The 58 DHCS county codes (01-58, alphabetical; DOMAIN.md §6), which the County
# table holds and nothing adds to. Member and enrollment rows check their county
# code against them with a CHECK constraint instead of a foreign key: the same
# rule, without a foreign-key trigger per row (two of the nine the 834 import
# paid for each member it added; bench/import_834.py).
COUNTY_CODES = [f"{number:02d}" for number in range(1, 59)]


def county_code_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(county__isnull=True) | models.Q(county__in=COUNTY_CODES),
        name=name,
    )


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


class RaceEthnicity(models.TextChoices):
    """OMB-style categories; Birth Equity keys on the first three (DOMAIN.md §1b)."""

    BLACK = "black", "Black or African American"
    AMERICAN_INDIAN_ALASKA_NATIVE = "aian", "American Indian or Alaska Native"
    PACIFIC_ISLANDER = "nhpi", "Native Hawaiian or Pacific Islander"
    ASIAN = "asian", "Asian"
    HISPANIC_LATINO = "hispanic", "Hispanic or Latino"
    WHITE = "white", "White"
    OTHER = "other", "Other"
    DECLINED = "declined", "Declined to state"


class Member(models.Model):
    """A Medi-Cal member. The only table that holds direct identifiers (PHI)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cin = models.CharField("CIN", max_length=9, unique=True, validators=[validate_cin])
    first_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    preferred_language = models.CharField(
        max_length=3, blank=True, default="", help_text="ISO 639-2, e.g. SPA, ENG"
    )
    phone = models.CharField(max_length=20, blank=True, default="")
    address_line1 = models.CharField(max_length=100, blank=True, default="")
    address_line2 = models.CharField(max_length=100, blank=True, default="")
    city = models.CharField(max_length=60, blank=True, default="")
    state = models.CharField(max_length=2, blank=True, default="")
    zip_code = models.CharField(max_length=10, blank=True, default="")
    county = models.ForeignKey(
        County,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # nothing looks members up by county alone
        db_constraint=False,  # see COUNTY_CODES
    )
    is_homeless = models.BooleanField("experiencing homelessness", default=False)
    race_ethnicity = ArrayField(
        models.CharField(max_length=10, choices=RaceEthnicity.choices),
        default=list,
        blank=True,
    )
    # A duplicate record merged into another keeps its row (and its history) here.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("grant_member_access", "Grant another user access to a member"),
            ("break_glass", "Open a member's record in an emergency, with a reason"),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="member_name"),
            models.Index(fields=["birth_date"], name="member_birth_date"),
            # pg_trgm folds case itself: typo-tolerant (%) and ILIKE name search
            # on either name (selectors.member_search). One index for both
            # columns: a GIN index serves a condition on any of its columns, and
            # each member the 834 import adds costs one index insertion, not two.
            GinIndex(
                fields=["last_name", "first_name"],
                opclasses=["gin_trgm_ops", "gin_trgm_ops"],
                name="member_names_trgm",
            ),
        ]
        constraints = [county_code_check("member_county_is_a_dhcs_code")]

    def __str__(self):
        return f"{self.last_name}, {self.first_name}"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (
            self.birth_date.month,
            self.birth_date.day,
        )
        return day.year - self.birth_date.year - before_birthday

    def is_adult_on(self, day: date) -> bool:
        """Adult at 21 (DOMAIN.md §1a: QIMR treats age >= 21 as adult)."""
        return self.age_on(day) >= ADULT_AGE


ADULT_AGE = 21


class MemberCin(models.Model):
    """Every CIN a member has had. A prior CIN (REF*Q4, a merge) keeps resolving."""

    cin = models.CharField("CIN", max_length=9, unique=True, validators=[validate_cin])
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cins")
    is_current = models.BooleanField(default=True)
    source = models.CharField(max_length=100, blank=True, default="")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member_id", "-is_current", "recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(is_current=True),
                name="member_cin_one_current",
            )
        ]

    def __str__(self):
        return self.cin


class Enrollment(models.Model):
    """A span during which the member was enrolled with a plan in a county.

    Spans of one member with one plan never overlap (an exclusion constraint); the
    834 importer merges adjacent ones explicitly.
    """

    # The composite indexes below cover the member and plan lookups; separate
    # foreign-key indexes only slowed the 834 import's inserts.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="enrollments", db_index=False
    )
    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="enrollments",
        limit_choices_to={"is_plan": True},
        db_index=False,
    )
    county = models.ForeignKey(
        County,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # see COUNTY_CODES
    )
    aid_code = models.CharField(max_length=2, blank=True, default="")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    source_file = models.ForeignKey(
        "members.EnrollmentFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    source_segment = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["member_id", "-start_date"]
        indexes = [
            models.Index(
                fields=["plan", "member", "start_date", "end_date"],
                name="enrollment_plan_member",
            ),
            models.Index(fields=["member", "start_date"], name="enrollment_member"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="enrollment_ends_after_it_starts",
            ),
            county_code_check("enrollment_county_is_a_dhcs_code"),
            # And `enrollment_spans_do_not_overlap`, an exclusion constraint on
            # (member =, plan =, daterange(start_date, end_date, '[]') &&), created
            # in migration 0004 with SQL (btree_gist).
        ]

    def __str__(self):
        return f"{self.member_id} with {self.plan_id} from {self.start_date}"

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (
            self.end_date is None or day <= self.end_date
        )


class PopulationOfFocus(models.Model):
    """An ECM population of focus (DOMAIN.md §1a), seeded by a migration."""

    class AgeGroup(models.TextChoices):
        ADULT = "adult", "Adult (21 and over)"
        CHILD = "child", "Child or youth (under 21)"

    code = models.CharField(max_length=40, primary_key=True)
    name = models.CharField(max_length=200)
    age_group = models.CharField(max_length=5, choices=AgeGroup.choices)
    go_live_date = models.DateField()
    retired_on = models.DateField(null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["age_group", "sort_order"]
        verbose_name_plural = "populations of focus"

    def __str__(self):
        return self.name


class MemberPopulation(models.Model):
    """A population of focus a member belongs to, with where that came from."""

    class Source(models.TextChoices):
        PLAN_DATA = "plan_data", "Plan data"
        PROVIDER_ATTESTATION = "provider_attestation", "Provider attestation"
        ADT_UTILIZATION = "adt_utilization", "ADT-derived utilization"

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="populations"
    )
    population = models.ForeignKey(PopulationOfFocus, on_delete=models.PROTECT)
    source = models.CharField(max_length=30, choices=Source.choices)
    evidence = models.TextField(blank=True, default="")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member_id", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="member_population_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.population_id} since {self.start_date}"


class OtherProgram(models.TextChoices):
    """Programs a member may not be in at the same time as ECM (DOMAIN.md §1c)."""

    HOSPICE = "hospice", "Hospice"
    PACE = "pace", "PACE"
    CCM = "ccm", "Complex Care Management"
    CCT = "cct", "California Community Transitions"
    WAIVER_MCWP = "mcwp", "Medi-Cal Waiver Program (HIV/AIDS)"
    WAIVER_HCBA = "hcba", "Home and Community-Based Alternatives Waiver"
    WAIVER_ALW = "alw", "Assisted Living Waiver"
    WAIVER_HCBS_DD = "hcbs_dd", "HCBS Waiver for Individuals with DD"
    MSSP = "mssp", "Multipurpose Senior Services Program"
    SDP = "sdp", "Self-Determination Program"


class OtherProgramEnrollment(models.Model):
    """Enrollment in a program that excludes ECM, with its dates."""

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="other_programs"
    )
    program = models.CharField(max_length=10, choices=OtherProgram.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True, default="")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member_id", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="other_program_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.get_program_display()} from {self.start_date}"


class MemberGrant(UserObjectPermissionBase):
    """An explicit, expiring grant of access to one member (django-guardian).

    Responsibility (lead care manager, provider, plan) is computed by the access
    rules; this table holds only the extras: a covering care manager, a care-team
    colleague, break-glass. A direct foreign key table, as guardian recommends.
    """

    class Kind(models.TextChoices):
        COVERING = "covering", "Covering care manager"
        CARE_TEAM = "care_team", "Care-team colleague"
        BREAK_GLASS = "break_glass", "Break-glass (emergency)"

    content_object = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="grants"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.CharField(max_length=500)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [
            models.Index(
                fields=["user", "expires_at"], name="member_grant_user_expiry"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("granted_at")),
                name="member_grant_expires_after_granted",
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="member_grant_has_reason"
            ),
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} for user {self.user_id} until {self.expires_at}"
        )


class EnrollmentFile(models.Model):
    """An X12 834 file received from DHCS for one plan, and how its import went."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="enrollment_files"
    )
    original_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    interchange_control_number = models.CharField(max_length=9, blank=True, default="")
    file_kind = models.CharField(max_length=2, blank=True, default="")
    records_total = models.PositiveIntegerField(default=0)
    records_done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    terminated = models.PositiveIntegerField(default=0)
    reinstated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    missing_from_roster = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"


class EnrollmentFileIssue(models.Model):
    """A record the import rejected, a duplicate it skipped, or a roster gap."""

    class Kind(models.TextChoices):
        REJECTED = "rejected", "Rejected record"
        DUPLICATE = "duplicate", "Identical record repeated"
        MISSING = "missing", "Missing from the audit roster"

    file = models.ForeignKey(
        EnrollmentFile, on_delete=models.CASCADE, related_name="issues"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    segment_number = models.PositiveIntegerField(null=True, blank=True)
    segment = models.CharField(max_length=10, blank=True, default="")
    cin = models.CharField(max_length=20, blank=True, default="")
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["file_id", "segment_number", "id"]

    def __str__(self):
        return f"{self.kind} at segment {self.segment_number}: {self.reason}"


class MemberChange(models.Model):
    """What an import (or a person) changed on a member, field by field."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="changes")
    source_file = models.ForeignKey(
        EnrollmentFile, on_delete=models.PROTECT, null=True, related_name="+"
    )
    source_segment = models.PositiveIntegerField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changes = models.JSONField(help_text="{field: [before, after]}")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member_id", "-changed_at"]

    def __str__(self):
        return f"{', '.join(self.changes)} on {self.changed_at:%Y-%m-%d}"


class MemberPlanSnapshot(models.Model):
    """The content hash of the last 834 record applied for a member and plan.

    An identical record in a later file (even under a new interchange control
    number) is recognised by its hash and changes nothing.
    """

    # The unique (member, plan) index serves every lookup.
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    plan = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "plan"], name="snapshot_one_per_plan"
            ),
        ]

    def __str__(self):
        return f"{self.member_id}/{self.plan_id}: {self.content_hash[:12]}"


# --- Consents (DOMAIN.md §7a ASCMI, §7b 42 CFR Part 2) ------------------------------


class ConsentKind(models.TextChoices):
    ASCMI_AB133 = "ascmi_ab133", "ASCMI (AB-133, Medi-Cal members)"
    ASCMI_NON_AB133 = "ascmi_non_ab133", "ASCMI (non-AB-133)"
    ASCMI_REVOCATION = "ascmi_revocation", "ASCMI revocation"
    PART2 = "part2", "42 CFR Part 2 consent"


ASCMI_KINDS = (ConsentKind.ASCMI_AB133, ConsentKind.ASCMI_NON_AB133)


class ConsentCategory(models.TextChoices):
    """What a consent lets the member's information be shared about."""

    ALL = "all", "All information"
    SUBSTANCE_USE = "substance_use", "Substance use disorder (42 CFR Part 2)"
    MENTAL_HEALTH = "mental_health", "Mental health"
    HIV = "hiv", "HIV test results"
    PHYSICAL_HEALTH = "physical_health", "Physical health"
    SOCIAL_SERVICES = "social_services", "Social services"


# A consent whose scope holds one of these discloses Part 2 (substance use) records.
PART2_CATEGORIES = [ConsentCategory.SUBSTANCE_USE.value, ConsentCategory.ALL.value]
# The kinds that may carry a Part 2 consent: the ASCMI form meets 42 CFR 2.31 too
# (DOMAIN.md §7a), when it covers substance use.
PART2_KINDS = [ConsentKind.PART2.value, *(kind.value for kind in ASCMI_KINDS)]


class ConsentQuerySet(models.QuerySet):
    def in_effect_on(self, day: date):
        """Started, not ended, not revoked on `day` (a revocation record is never
        "in effect": it is what ended the others)."""
        return self.filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=day),
            start_date__lte=day,
            revoked_at__isnull=True,
        ).exclude(kind=ConsentKind.ASCMI_REVOCATION)

    def covering_part2(self):
        """Consents that let Part 2 (substance use disorder) records be disclosed."""
        return self.filter(
            kind__in=PART2_KINDS, scope_categories__overlap=PART2_CATEGORIES
        )


class Consent(models.Model):
    """A member's consent to share information: an ASCMI form (AB-133 or not), an
    ASCMI revocation, or a 42 CFR Part 2 consent (DOMAIN.md §7).

    Never deleted. A Part 2 consent (and an ASCMI form) ends by its date, or by
    revocation recorded on it; revoking an ASCMI form also records the revocation
    as its own row (kind ascmi_revocation), which `revoked_by_consent` points at.
    Evidence is the signed document (stored privately under DATA_DIR, with its
    sha256) or a staff member's attestation of verbal consent.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        UPCOMING = "upcoming", "Not yet in effect"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        RECORDED = "recorded", "Revocation on file"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="consents"
    )
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    scope_categories = ArrayField(
        models.CharField(max_length=20, choices=ConsentCategory.choices),
        default=list,
        blank=True,
        help_text="What may be shared; empty on an ASCMI form that shares nothing.",
    )
    scope_text = models.TextField("scope (in the member's words)", blank=True)
    recipient_organizations = models.ManyToManyField(
        Organization, related_name="consents_received", blank=True
    )
    recipient_names = models.TextField(
        "other named recipients", blank=True, help_text="One per line."
    )
    purpose = models.CharField(max_length=500, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    end_event = models.CharField(
        max_length=300, blank=True, help_text="An event that ends the consent."
    )
    # The signed form: a private file named by its hash, under
    # DATA_DIR/uploads/consents/ (members.services.consents.document_dir).
    document_file = models.CharField(max_length=80, blank=True)
    document_name = models.CharField(max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_content_type = models.CharField(max_length=40, blank=True)
    document_size = models.PositiveIntegerField(null=True, blank=True)
    # Or a staff member's attestation that the member consented verbally.
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    attested_at = models.DateTimeField(null=True, blank=True)
    attestation_witness = models.CharField(max_length=200, blank=True)
    attestation_notes = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revocation_reason = models.CharField(max_length=500, blank=True)
    revoked_by_consent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revoked_consents",
        help_text="The ASCMI revocation that ended this form.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["member_id", "-start_date", "-id"]
        permissions = [("revoke_consent", "Record the revocation of a consent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="consent_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=~models.Q(document_sha256="")
                | models.Q(attested_by__isnull=False, attested_at__isnull=False),
                name="consent_signed_or_attested",
            ),
            # 42 CFR 2.31: purpose, what is shared and an expiration (a date or an
            # event) on every consent that covers Part 2 records. Recipients are a
            # many-to-many field, checked by members.services.consents.
            models.CheckConstraint(
                condition=~(
                    models.Q(kind=ConsentKind.PART2)
                    | models.Q(scope_categories__overlap=PART2_CATEGORIES)
                )
                | (
                    ~models.Q(purpose="")
                    & ~models.Q(scope_categories=[])
                    & (models.Q(end_date__isnull=False) | ~models.Q(end_event=""))
                ),
                name="consent_part2_has_required_elements",
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True)
                | (
                    models.Q(revoked_by__isnull=False)
                    & ~models.Q(revocation_reason="")
                    & ~models.Q(kind=ConsentKind.ASCMI_REVOCATION)
                ),
                name="consent_revocation_has_who_and_why",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} from {self.start_date}"

    def status_on(self, day: date) -> str:
        if self.kind == ConsentKind.ASCMI_REVOCATION:
            return self.Status.RECORDED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.start_date > day:
            return self.Status.UPCOMING
        if self.end_date is not None and self.end_date < day:
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def covers_part2(self) -> bool:
        return self.kind in PART2_KINDS and bool(
            set(self.scope_categories) & set(PART2_CATEGORIES)
        )

    @property
    def has_document(self) -> bool:
        return bool(self.document_sha256)

    @property
    def scope_labels(self) -> list[str]:
        labels = dict(ConsentCategory.choices)
        return [labels.get(value, value) for value in self.scope_categories]
