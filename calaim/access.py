"""The access registry: who may see which member, computed in SQL from responsibility.

Each app registers the rules it owns (the lead care manager of an open episode,
the plan a member was enrolled with, an open referral, an explicit grant, ...) in
its AppConfig.ready(). `visible_members(user)` unions them into one query, so every
page, API list, export and search filters in the database through this one place.

A rule returns a queryset of member ids for the user, or None when it cannot apply
to this user (wrong role or organization), which keeps the final query small.

Scopes: "chart" rules open the whole member record; "referral" rules open only the
referral data (a Community Supports provider with an open referral). Asking for
scope "referral" includes the chart rules, since seeing the chart implies that.

Answers at the chokepoints: a record that is missing or not visible raises Http404
(existence does not leak); a visible record whose action the role lacks raises
PermissionDenied (403); anonymous users never get this far (login redirect or 401).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    QuerySet,
    Value,
)

CHART = "chart"
REFERRAL = "referral"
SCOPES = (CHART, REFERRAL)


@dataclass(frozen=True)
class AccessRule:
    name: str
    scope: str
    member_ids: Callable  # (user) -> QuerySet of member ids, or None
    description: str = ""


_rules: dict[str, AccessRule] = {}
_member_model = None


def register_member_model(model) -> None:
    """Called by the members app: the model `visible_members` returns."""
    global _member_model
    _member_model = model


def register_rule(name: str, *, scope: str = CHART, description: str = ""):
    """Decorator: register `func(user) -> QuerySet[member id] | None` as a rule."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorate(func):
        _rules[name] = AccessRule(name, scope, func, description or func.__doc__ or "")
        return func

    return decorate


def rules() -> list[AccessRule]:
    return list(_rules.values())


def _member_id_queries(user, scope: str) -> list[QuerySet]:
    scopes = {CHART} if scope == CHART else {CHART, REFERRAL}
    queries = []
    for rule in _rules.values():
        if rule.scope not in scopes:
            continue
        ids = rule.member_ids(user)
        if ids is not None:
            # A model's default ordering would only slow the union down.
            queries.append(ids.order_by())
    return queries


def _usable(user) -> bool:
    if _member_model is None:
        raise RuntimeError("the members app has not registered its model")
    return user is not None and user.is_authenticated and user.is_active


def visible_member_ids(user, *, scope: str = CHART) -> QuerySet:
    """The ids of the members `user` may see, as one UNION subquery.

    Use it as `member_id__in=visible_member_ids(user)` in other apps' lists. When no
    rule applies it is an empty queryset (`.query.is_empty()`), which Django turns
    into no rows without asking the database.

    A UNION lets PostgreSQL build the (usually small) set of ids from the rules'
    indexes and join it to members; OR-ing `IN` clauses instead makes it scan every
    member (bench/bench_access.py measured 13-20x slower for a caseload).
    """
    queries = _member_id_queries(user, scope) if _usable(user) else []
    if not queries:
        return _member_model.objects.none().values("pk")
    first, *rest = queries
    return first.union(*rest) if rest else first


def visible_members(user, *, scope: str = CHART) -> QuerySet:
    """Every member `user` may see, as one query (the union of the rules)."""
    ids = visible_member_ids(user, scope=scope)
    if ids.query.is_empty():
        return _member_model.objects.none()
    return _member_model.objects.filter(pk__in=ids)


def visibility_condition(user, *, scope: str = CHART):
    """A boolean expression, true for the members `user` may see, evaluated per
    member row with one correlated EXISTS per rule that applies (each probes its
    index for that one member). Annotate it, or filter on it, where a single
    record is fetched; lists use `visible_members` (a UNION) instead."""
    if not _usable(user):
        return Value(False)
    condition = None
    for ids in _member_id_queries(user, scope):
        column = ids.query.values_select[0]
        clause = Exists(ids.filter(**{column: OuterRef("pk")}))
        condition = clause if condition is None else condition | clause
    if condition is None:
        return Value(False)
    return ExpressionWrapper(condition, output_field=BooleanField())


def member_is_visible(user, member_pk: int, *, scope: str = CHART) -> bool:
    """Whether `user` may see one member, asked with correlated EXISTS per rule.

    Used for a single record (a chart, an API detail): each rule is probed with its
    index for this one member instead of building the user's whole set, which for
    a plan administrator is a large part of the plan.
    """
    if not _usable(user):
        return False
    return (
        _member_model.objects.filter(pk=member_pk)
        .filter(visibility_condition(user, scope=scope))
        .exists()
    )


def require_permission(user, permission: str) -> None:
    """Raise PermissionDenied (403) unless the user's roles allow `permission`."""
    if not user.has_perm(permission):
        raise PermissionDenied(f"Your role does not allow this ({permission}).")
