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
from django.db.models import Q, QuerySet

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


def _condition(user, scope: str) -> Q | None:
    scopes = {CHART} if scope == CHART else {CHART, REFERRAL}
    condition = None
    for rule in _rules.values():
        if rule.scope not in scopes:
            continue
        ids = rule.member_ids(user)
        if ids is None:
            continue
        clause = Q(pk__in=ids)
        condition = clause if condition is None else condition | clause
    return condition


def visible_members(user, *, scope: str = CHART) -> QuerySet:
    """Every member `user` may see, as one query (the union of the rules)."""
    if _member_model is None:
        raise RuntimeError("the members app has not registered its model")
    if user is None or not user.is_authenticated or not user.is_active:
        return _member_model.objects.none()
    condition = _condition(user, scope)
    if condition is None:
        return _member_model.objects.none()
    return _member_model.objects.filter(condition)


def visible_member_ids(user, *, scope: str = CHART) -> QuerySet:
    """The ids of `visible_members`, for use as a subquery in other apps' lists."""
    return visible_members(user, scope=scope).values("pk")


def require_permission(user, permission: str) -> None:
    """Raise PermissionDenied (403) unless the user's roles allow `permission`."""
    if not user.has_perm(permission):
        raise PermissionDenied(f"Your role does not allow this ({permission}).")
