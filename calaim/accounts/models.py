"""Organizations, their counties and plan codes, users and API clients."""

import uuid

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from oauth2_provider.models import AbstractApplication

from calaim.validators import validate_npi, validate_tin


class County(models.Model):
    """A California county: DHCS/MEDS code (01-58, alphabetical) and FIPS code."""

    code = models.CharField(
        max_length=2, primary_key=True, validators=[RegexValidator(r"^\d{2}$")]
    )
    name = models.CharField(max_length=40, unique=True)
    fips = models.CharField(max_length=5, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "counties"

    def __str__(self):
        return f"{self.code} {self.name}"


class Organization(models.Model):
    """A plan, ECM provider, CS provider or hospital; one may be several."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    is_plan = models.BooleanField("managed care plan", default=False)
    is_ecm_provider = models.BooleanField("ECM provider", default=False)
    is_cs_provider = models.BooleanField("Community Supports provider", default=False)
    is_hospital = models.BooleanField("hospital", default=False)
    npi = models.CharField(
        "NPI", max_length=10, blank=True, default="", validators=[validate_npi]
    )
    tin = models.CharField(
        "TIN", max_length=10, blank=True, default="", validators=[validate_tin]
    )
    phone = models.CharField(max_length=20, blank=True, default="")
    counties = models.ManyToManyField(County, related_name="organizations", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["npi"],
                condition=~models.Q(npi=""),
                name="organization_npi_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(is_plan=True)
                | models.Q(is_ecm_provider=True)
                | models.Q(is_cs_provider=True)
                | models.Q(is_hospital=True),
                name="organization_has_a_capability",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def capabilities(self) -> list[str]:
        names = {
            "is_plan": "plan",
            "is_ecm_provider": "ecm_provider",
            "is_cs_provider": "cs_provider",
            "is_hospital": "hospital",
        }
        return [label for field, label in names.items() if getattr(self, field)]


class PlanCode(models.Model):
    """A DHCS plan (HCP) code a managed care plan holds in one county."""

    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="plan_codes",
        limit_choices_to={"is_plan": True},
    )
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(
        max_length=3,
        validators=[
            RegexValidator(r"^[0-9A-Z]{2,3}$", "A plan code is 2-3 characters.")
        ],
    )

    class Meta:
        ordering = ["plan__name", "county_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "county"], name="plan_code_one_per_plan_county"
            ),
            models.UniqueConstraint(
                fields=["county", "code"], name="plan_code_unique_in_county"
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.county.name})"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person (or, with is_service_account, a machine) who signs in with an e-mail.

    Every non-superuser belongs to exactly one organization; roles are groups
    (calaim.accounts.roles).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, blank=True, default="")
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
    )
    is_service_account = models.BooleanField(
        default=False,
        help_text="A machine identity (API client, import, worker); cannot sign in.",
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(is_superuser=True)
                | models.Q(organization__isnull=False),
                name="user_belongs_to_an_organization",
            ),
        ]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def role_names(self) -> frozenset[str]:
        """The names of this user's roles, read once per user object."""
        cached = getattr(self, "_role_names", None)
        if cached is None:
            if not self.is_authenticated or self.pk is None:
                cached = frozenset()
            else:
                cached = frozenset(self.groups.values_list("name", flat=True))
            self._role_names = cached
        return cached

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names.intersection(names))


class ApiClient(AbstractApplication):
    """An OAuth2 application bound to a service-account user of one organization.

    `user` (from AbstractApplication) is the service account: it is the actor in
    services and in the audit trail. `allowed_scopes` caps what a token may carry.
    """

    allowed_scopes = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Space-separated scopes this client may request.",
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "API client"
