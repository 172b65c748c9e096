"""The network: contracts between plans and ECM / Community Supports providers.

The ECM issue needs the minimum (plan, provider, counties, dates, capacity); the
Community Supports issue adds the service catalog, offerings and rates.
"""

from django.db import models
from django.db.models import Q

from calaim.accounts.models import County, Organization


class ProviderContract(models.Model):
    """A plan's contract with a provider organization for ECM (or a CS service)."""

    class Service(models.TextChoices):
        ECM = "ecm", "Enhanced Care Management"
        COMMUNITY_SUPPORTS = "cs", "Community Supports"

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
    counties = models.ManyToManyField(County, related_name="+")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    # How many members the provider may serve for this plan at once (None: no cap).
    capacity = models.PositiveIntegerField(null=True, blank=True)
    may_presumptively_authorize = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

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

    def in_force_on(self, day) -> bool:
        return self.start_date <= day and (
            self.end_date is None or day <= self.end_date
        )
