"""Writes of the network: the catalog loader, plan offerings and contracts."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from calaim.audit.services import audit_record
from community_supports.models import (
    CatalogChange,
    CommunitySupport,
    PlanOffering,
    ProviderContract,
    ServiceCode,
    SupportLimit,
)

CATALOG_FILE = Path(__file__).resolve().parent / "data" / "catalog.json"

SUPPORT_FIELDS = (
    "name",
    "short_name",
    "description",
    "eligibility_summary",
    "volume",
    "sort_order",
    "mandatory_from",
    "retro_authorization_allowed",
)
CODE_FIELDS = ("description", "unit", "effective_to")
LIMIT_FIELDS = (
    "kind",
    "quantity",
    "window_days",
    "weeks",
    "exception_allowed_once",
    "description",
)


# --- The catalog loader --------------------------------------------------------


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # edited by an administrator

    def count(self, bucket: dict, model: str) -> None:
        bucket[model] = bucket.get(model, 0) + 1

    def __str__(self):
        def fmt(bucket):
            return ", ".join(f"{n} {m}" for m, n in sorted(bucket.items())) or "none"

        return (
            f"created: {fmt(self.created)}; updated: {fmt(self.updated)}; "
            f"kept (edited by an administrator): {len(self.kept)}"
        )


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _values_hash(values: dict) -> str:
    plain = {name: _plain(value) for name, value in sorted(values.items())}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


def _row_hash(row, fields) -> str:
    return _values_hash({name: getattr(row, name) for name in fields})


def _date(value):
    return date.fromisoformat(value) if value else None


def _upsert(model, lookup: dict, values: dict, fields, report: LoadReport):
    """Create the row, or bring it up to the file unless someone edited it.

    A row counts as edited when the admin marked it so, when the loader did not
    write it, or when its current values no longer hash to what the loader last
    wrote (an edit by other means).
    """
    row = model.objects.filter(**lookup).first()
    wanted = _values_hash(values)
    name = model.__name__
    if row is None:
        row = model(**lookup, **values, content_hash=wanted)
        row.full_clean()
        row.save()
        report.count(report.created, name)
        return row
    if (
        row.edited_by_admin
        or not row.content_hash  # not the loader's row: someone else made it
        or _row_hash(row, fields) != row.content_hash
    ):
        if row.content_hash != wanted:
            report.kept.append(f"{name} {row.pk}")
        return row
    if row.content_hash == wanted:
        return row
    for key, value in values.items():
        setattr(row, key, value)
    row.content_hash = wanted
    row.full_clean()
    row.save()
    report.count(report.updated, name)
    return row


@transaction.atomic
def catalog_load(*, path: Path | str = CATALOG_FILE) -> LoadReport:
    """Load the Community Supports catalog from its data file: idempotent.

    New supports, codes and limits are added and rows the file changed are
    brought up to date, but a row an administrator edited is never overwritten
    (it is listed in the report instead). Nothing is deleted: an old code is
    ended with `effective_to`, never removed, since claims refer to it.
    """
    data = json.loads(Path(path).read_text())
    report = LoadReport()
    for item in data["supports"]:
        values = {
            "name": item["name"],
            "short_name": item.get("short_name", ""),
            "description": item.get("description", ""),
            "eligibility_summary": item.get("eligibility_summary", ""),
            "volume": int(item["volume"]),
            "sort_order": int(item.get("sort_order", 0)),
            "mandatory_from": _date(item.get("mandatory_from")),
            "retro_authorization_allowed": bool(
                item.get("retro_authorization_allowed", False)
            ),
        }
        support = _upsert(
            CommunitySupport, {"code": item["code"]}, values, SUPPORT_FIELDS, report
        )
        for code in item.get("codes", []):
            _upsert(
                ServiceCode,
                {
                    "support": support,
                    "hcpcs": code["hcpcs"],
                    "modifier": code.get("modifier", ""),
                    "modifier_2": code.get("modifier_2", ""),
                    "effective_from": _date(code["effective_from"]),
                },
                {
                    "description": code.get("description", ""),
                    "unit": code["unit"],
                    "effective_to": _date(code.get("effective_to")),
                },
                CODE_FIELDS,
                report,
            )
        for limit in item.get("limits", []):
            _upsert(
                SupportLimit,
                {"support": support, "key": limit["key"]},
                {
                    "kind": limit["kind"],
                    "quantity": Decimal(limit["quantity"]),
                    "window_days": limit.get("window_days"),
                    "weeks": limit.get("weeks"),
                    "exception_allowed_once": bool(
                        limit.get("exception_allowed_once", False)
                    ),
                    "description": limit.get("description", ""),
                },
                LIMIT_FIELDS,
                report,
            )
    return report


def catalog_load_after_migrate(sender, using="default", plan=None, **kwargs):
    """post_migrate: a fresh system (and every test database) has the catalog.

    Skipped when migrate left this app's tables behind its models (a partial or
    backward migrate), since the loader writes through today's models.
    """
    if sender.label != "community_supports" or using != "default":
        return
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connections[using]).applied_migrations()
    if ("community_supports", "0002_catalog_offerings_contracts") not in applied:
        return
    catalog_load()


def catalog_record_admin_change(*, row, changed_fields, before: dict, actor) -> None:
    """Record which fields an administrator changed on a catalog row, and mark
    the row edited so the loader leaves it alone."""
    for name in changed_fields:
        CatalogChange.objects.create(
            model=type(row).__name__,
            object_id=str(row.pk),
            field=name,
            old_value=str(_plain(before.get(name, ""))),
            new_value=str(_plain(getattr(row, name, ""))),
            changed_by=actor,
        )
    if changed_fields and not row.edited_by_admin:
        type(row).objects.filter(pk=row.pk).update(edited_by_admin=True)
        row.edited_by_admin = True


# --- Plan offerings ------------------------------------------------------------


def _require_plan_admin(actor, permission: str, plan) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")
    if actor.organization_id != getattr(plan, "pk", plan):
        raise PermissionDenied("You manage only your own plan's network.")


def _save(row, *, message: str) -> None:
    """full_clean (exclusion and check constraints included), then save; a race
    that slips past validation still meets the database constraint."""
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as error:
        raise ValidationError(message) from error


@transaction.atomic
def offering_create(
    *, plan, support, county, start_date, end_date=None, actor
) -> PlanOffering:
    """The plan starts offering a support in a county; spans never overlap."""
    _require_plan_admin(actor, "community_supports.add_planoffering", plan)
    offering = PlanOffering(
        plan=plan,
        support=support,
        county=county,
        start_date=start_date,
        end_date=end_date,
    )
    _save(offering, message="The plan already offers this support there then.")
    audit_record(
        action="create",
        object_type="plan_offering",
        object_id=offering.uuid,
        actor=actor,
    )
    return offering


@transaction.atomic
def offering_update(*, offering, start_date, end_date, actor) -> PlanOffering:
    """Change an offering's dates (usually: end it)."""
    _require_plan_admin(
        actor, "community_supports.change_planoffering", offering.plan_id
    )
    offering = PlanOffering.objects.select_for_update().get(pk=offering.pk)
    offering.start_date = start_date
    offering.end_date = end_date
    _save(offering, message="The plan already offers this support there then.")
    audit_record(
        action="update",
        object_type="plan_offering",
        object_id=offering.uuid,
        actor=actor,
    )
    return offering


# --- Contracts -----------------------------------------------------------------

CONTRACT_FIELDS = (
    "provider",
    "service",
    "start_date",
    "end_date",
    "rate_per_unit",
    "capacity",
    "capacity_unit",
    "status",
    "may_presumptively_authorize",
)


def _check_contract(contract: ProviderContract, supports, counties) -> None:
    errors = {}
    provider = contract.provider
    cs = contract.service == ProviderContract.Service.COMMUNITY_SUPPORTS
    if cs and not provider.is_cs_provider:
        errors["provider"] = "This organization is not a Community Supports provider."
    if not cs and not provider.is_ecm_provider:
        errors["provider"] = "This organization is not an ECM provider."
    if cs and not supports:
        errors["supports"] = "A Community Supports contract names its supports."
    if not cs and supports:
        errors["supports"] = "An ECM contract covers no Community Supports."
    if not counties:
        errors["counties"] = "A contract covers at least one county."
    if not cs and contract.capacity_unit == ProviderContract.CapacityUnit.UNITS:
        errors["capacity_unit"] = "ECM capacity is counted in members."
    if cs and contract.may_presumptively_authorize:
        errors["may_presumptively_authorize"] = (
            "Presumptive authorization is for ECM contracts."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def contract_create(*, plan, supports=(), counties=(), actor, **values):
    """The plan contracts with a provider for ECM or Community Supports."""
    _require_plan_admin(actor, "community_supports.add_providercontract", plan)
    unknown = set(values) - set(CONTRACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contract fields {sorted(unknown)}")
    contract = ProviderContract(plan=plan, **values)
    contract.full_clean()
    _check_contract(contract, list(supports), list(counties))
    contract.save()
    contract.supports.set(supports)
    contract.counties.set(counties)
    audit_record(
        action="create", object_type="provider_contract", object_id=contract.uuid,
        actor=actor,
    )  # fmt: skip
    return contract


@transaction.atomic
def contract_update(*, contract, supports, counties, actor, **values):
    """Change a contract's terms, supports, counties or status."""
    _require_plan_admin(
        actor, "community_supports.change_providercontract", contract.plan_id
    )
    unknown = set(values) - set(CONTRACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contract fields {sorted(unknown)}")
    contract = ProviderContract.objects.select_for_update().get(pk=contract.pk)
    for name, value in values.items():
        setattr(contract, name, value)
    contract.full_clean()
    _check_contract(contract, list(supports), list(counties))
    contract.save()
    contract.supports.set(supports)
    contract.counties.set(counties)
    audit_record(
        action="update", object_type="provider_contract", object_id=contract.uuid,
        actor=actor,
    )  # fmt: skip
    return contract
