"""Members and their enrollment with plans.

Direct identifiers (name, birth date, CIN) live on Member only; every other table
refers to the member by id. The members issue fills in CIN history, addresses,
populations of focus and the 834 import.
"""

import uuid

from django.conf import settings
from django.db import models
from guardian.models import UserObjectPermissionBase

from calaim.accounts.models import County, Organization
from calaim.validators import validate_cin


class Member(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cin = models.CharField("CIN", max_length=9, unique=True, validators=[validate_cin])
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("grant_member_access", "Grant another user access to a member"),
            ("break_glass", "Open a member's record in an emergency, with a reason"),
        ]

    def __str__(self):
        return f"{self.last_name}, {self.first_name}"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Enrollment(models.Model):
    """A span during which the member was enrolled with a plan in a county."""

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="enrollments"
    )
    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="enrollments",
        limit_choices_to={"is_plan": True},
    )
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["member_id", "-start_date"]
        indexes = [
            models.Index(fields=["plan", "member"], name="enrollment_plan_member"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="enrollment_ends_after_it_starts",
            ),
            models.UniqueConstraint(
                fields=["member", "plan", "start_date"], name="enrollment_unique_start"
            ),
        ]

    def __str__(self):
        return f"{self.member_id} with {self.plan_id} from {self.start_date}"


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
