"""The Community Supports catalog, plan offerings, and CS provider contracts.

Existing contracts (ECM) get a UUID each, active status and "members" capacity.
"""

import uuid

import django.contrib.postgres.constraints
import django.contrib.postgres.fields.ranges
import django.contrib.postgres.operations
import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_contracts_uuids(apps, schema_editor):
    contract_model = apps.get_model("community_supports", "ProviderContract")
    for contract in contract_model.objects.filter(uuid__isnull=True).only("pk"):
        contract.uuid = uuid.uuid4()
        contract.save(update_fields=["uuid"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_seed_california_counties"),
        ("community_supports", "0001_provider_contracts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        django.contrib.postgres.operations.BtreeGistExtension(),
        migrations.CreateModel(
            name="CommunitySupport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("edited_by_admin", models.BooleanField(default=False)),
                (
                    "content_hash",
                    models.CharField(blank=True, default="", max_length=64),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.SlugField(max_length=60, unique=True)),
                ("name", models.CharField(max_length=200, unique=True)),
                ("short_name", models.CharField(blank=True, default="", max_length=40)),
                ("description", models.TextField(blank=True, default="")),
                ("eligibility_summary", models.TextField(blank=True, default="")),
                (
                    "volume",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (1, "Vol 1: health-related social needs"),
                            (2, "Vol 2: housing"),
                        ]
                    ),
                ),
                ("sort_order", models.PositiveSmallIntegerField(default=0)),
                ("mandatory_from", models.DateField(blank=True, null=True)),
                ("retro_authorization_allowed", models.BooleanField(default=False)),
                ("active", models.BooleanField(default=True)),
            ],
            options={
                "ordering": ["sort_order", "name"],
            },
        ),
        migrations.AddField(
            model_name="providercontract",
            name="capacity_unit",
            field=models.CharField(
                choices=[
                    ("members", "members at once"),
                    ("units", "units of service at once"),
                ],
                default="members",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="providercontract",
            name="rate_per_unit",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=10,
                null=True,
                validators=[django.core.validators.MinValueValidator(0)],
            ),
        ),
        migrations.AddField(
            model_name="providercontract",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("active", "Active"),
                    ("suspended", "Suspended"),
                    ("terminated", "Terminated"),
                ],
                default="active",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="providercontract",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name="providercontract",
            name="uuid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_contracts_uuids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="providercontract",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="providercontract",
            name="supports",
            field=models.ManyToManyField(
                blank=True,
                related_name="contracts",
                to="community_supports.communitysupport",
            ),
        ),
        migrations.CreateModel(
            name="CatalogChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("model", models.CharField(max_length=40)),
                ("object_id", models.CharField(max_length=40)),
                ("field", models.CharField(max_length=60)),
                ("old_value", models.TextField(blank=True, default="")),
                ("new_value", models.TextField(blank=True, default="")),
                ("changed_at", models.DateTimeField(auto_now_add=True)),
                (
                    "changed_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-changed_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["model", "object_id"], name="catalog_change_object"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="PlanOffering",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "uuid",
                    models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
                ),
                ("start_date", models.DateField()),
                ("end_date", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "county",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.county",
                    ),
                ),
                (
                    "plan",
                    models.ForeignKey(
                        limit_choices_to={"is_plan": True},
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cs_offerings",
                        to="accounts.organization",
                    ),
                ),
                (
                    "support",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="offerings",
                        to="community_supports.communitysupport",
                    ),
                ),
            ],
            options={
                "ordering": [
                    "plan_id",
                    "support__sort_order",
                    "county_id",
                    "start_date",
                ],
                "indexes": [
                    models.Index(
                        fields=["plan", "support", "county", "start_date"],
                        name="offering_lookup",
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("end_date__isnull", True),
                            ("end_date__gte", models.F("start_date")),
                            _connector="OR",
                        ),
                        name="offering_ends_after_it_starts",
                    ),
                    django.contrib.postgres.constraints.ExclusionConstraint(
                        expressions=[
                            ("plan", "="),
                            ("support", "="),
                            ("county", "="),
                            (
                                models.Func(
                                    models.F("start_date"),
                                    models.F("end_date"),
                                    models.Value("[]"),
                                    function="daterange",
                                    output_field=django.contrib.postgres.fields.ranges.DateRangeField(),
                                ),
                                "&&",
                            ),
                        ],
                        name="offerings_do_not_overlap",
                        violation_error_message="The plan already offers this support in this county on some of these dates.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ServiceCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("edited_by_admin", models.BooleanField(default=False)),
                (
                    "content_hash",
                    models.CharField(blank=True, default="", max_length=64),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "hcpcs",
                    models.CharField(
                        max_length=5,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z]\\d{4}$", "An HCPCS code is like H0044."
                            )
                        ],
                        verbose_name="HCPCS",
                    ),
                ),
                (
                    "modifier",
                    models.CharField(
                        blank=True,
                        default="",
                        max_length=2,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z0-9]{2}$", "A modifier is 2 characters."
                            )
                        ],
                    ),
                ),
                (
                    "modifier_2",
                    models.CharField(
                        blank=True,
                        default="",
                        max_length=2,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z0-9]{2}$", "A modifier is 2 characters."
                            )
                        ],
                        verbose_name="second modifier",
                    ),
                ),
                (
                    "description",
                    models.CharField(blank=True, default="", max_length=200),
                ),
                (
                    "unit",
                    models.CharField(
                        choices=[
                            ("day", "per diem"),
                            ("month", "per month"),
                            ("meal", "per meal"),
                            ("15min", "per 15 minutes"),
                            ("hour", "per hour"),
                            ("service", "per service"),
                            ("encounter", "per encounter"),
                        ],
                        max_length=10,
                    ),
                ),
                ("effective_from", models.DateField()),
                ("effective_to", models.DateField(blank=True, null=True)),
                (
                    "support",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="service_codes",
                        to="community_supports.communitysupport",
                    ),
                ),
            ],
            options={
                "ordering": ["support__sort_order", "hcpcs", "modifier", "modifier_2"],
                "indexes": [
                    models.Index(fields=["hcpcs", "modifier"], name="service_code_pair")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("effective_to__isnull", True),
                            ("effective_to__gte", models.F("effective_from")),
                            _connector="OR",
                        ),
                        name="service_code_ends_after_it_starts",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("modifier", ""), _negated=True),
                            ("modifier_2", ""),
                            _connector="OR",
                        ),
                        name="service_code_second_modifier_needs_first",
                    ),
                    django.contrib.postgres.constraints.ExclusionConstraint(
                        expressions=[
                            ("hcpcs", "="),
                            ("modifier", "="),
                            ("modifier_2", "="),
                            (
                                models.Func(
                                    models.F("effective_from"),
                                    models.F("effective_to"),
                                    models.Value("[]"),
                                    function="daterange",
                                    output_field=django.contrib.postgres.fields.ranges.DateRangeField(),
                                ),
                                "&&",
                            ),
                        ],
                        name="service_code_pair_dates_do_not_overlap",
                        violation_error_message="This HCPCS code and modifier pair is already in use on some of these dates.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SupportLimit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("edited_by_admin", models.BooleanField(default=False)),
                (
                    "content_hash",
                    models.CharField(blank=True, default="", max_length=64),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("key", models.SlugField(max_length=60)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("once_per_lifetime", "Occurrences per lifetime"),
                            ("dollars_per_lifetime", "Dollars per lifetime"),
                            ("units_per_lifetime", "Units per lifetime"),
                            ("days_per_stay", "Days per continuous stay"),
                            ("days_per_window", "Days within a rolling window"),
                            ("hours_per_year", "Hours per calendar year"),
                            ("days_per_year", "Days per calendar year"),
                            ("meals_per_day_weeks", "Meals per day for N weeks"),
                        ],
                        max_length=30,
                    ),
                ),
                (
                    "quantity",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=12,
                        validators=[django.core.validators.MinValueValidator(0)],
                    ),
                ),
                ("window_days", models.PositiveIntegerField(blank=True, null=True)),
                ("weeks", models.PositiveIntegerField(blank=True, null=True)),
                ("exception_allowed_once", models.BooleanField(default=False)),
                (
                    "description",
                    models.CharField(blank=True, default="", max_length=300),
                ),
                (
                    "support",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="limits",
                        to="community_supports.communitysupport",
                    ),
                ),
            ],
            options={
                "ordering": ["support__sort_order", "key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("support", "key"), name="support_limit_key_unique"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "days_per_window"), _negated=True),
                            ("window_days__gt", 0),
                            _connector="OR",
                        ),
                        name="support_limit_window_needs_days",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "meals_per_day_weeks"), _negated=True),
                            ("weeks__gt", 0),
                            _connector="OR",
                        ),
                        name="support_limit_meals_need_weeks",
                    ),
                ],
            },
        ),
    ]
