"""Evaluating a Community Support's limits against a member's history: pure.

`evaluate(limits=..., history=..., proposed=...)` takes the support's limits (rows
of `SupportLimit` or anything with the same attributes), the member's earlier
authorizations and deliveries of that support as `Usage`s, and the request as a
`Proposal`; it returns one `LimitFinding` per limit with the numbers, so the plan
administrator sees *why* ("$6,200 of $7,500 used, $2,000 requested").

No database, no clock: the caller gathers the history (one query) and decides
what to do with the findings (enforce, or record an exception with a reason).

How each kind counts (quantity is in the kind's unit):

- once_per_lifetime: occurrences. Usages with the same `stay_id` are one
  occurrence (a deposit paid in two parts); without one, each day is one. A
  proposal with the `stay_id` of an earlier occurrence continues it.
- dollars_per_lifetime / units_per_lifetime: the sum of `amount` / `units`.
- days_per_stay: days of one continuous stay (`stay_id`); a new stay starts at 0.
- days_per_window: days within the rolling `window_days` that end on the
  proposal's last day (six months within twelve: 180 in 365).
- hours_per_year / days_per_year: per calendar year. A proposal spanning New
  Year is split by its days (hours pro rata; days exactly) and each year is
  checked; the finding reports the tightest year.
- meals_per_day_weeks: a course of at most `weeks` weeks, counted from the first
  delivery within `window_days` (default 365) before the proposal, and at most
  `quantity` meals a day over the proposal's days.

The one-exception rule: a limit with `exception_allowed_once` may be exceeded
once in the member's lifetime with a documented exception; once any usage in
the history was granted by exception, `exception_available` is False.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal("0")
CENT = Decimal("0.01")
DEFAULT_COURSE_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Usage:
    """An earlier authorization or delivery of the support for the member."""

    day: date
    units: Decimal = ZERO
    amount: Decimal = ZERO
    stay_id: str | None = None
    exception: bool = False


@dataclass(frozen=True)
class Proposal:
    """What is being requested: dates (inclusive), units, dollars, the stay."""

    start: date
    end: date | None = None
    units: Decimal = ZERO
    amount: Decimal = ZERO
    stay_id: str | None = None

    @property
    def last_day(self) -> date:
        return self.end or self.start

    @property
    def days(self) -> int:
        return (self.last_day - self.start).days + 1


@dataclass(frozen=True)
class LimitFinding:
    limit: Any
    used: Decimal
    requested: Decimal
    allowed_max: Decimal
    exceeded: bool
    message: str
    exception_available: bool = False

    @property
    def remaining(self) -> Decimal:
        return max(self.allowed_max - self.used, ZERO)


class LimitInputError(ValueError):
    """The history or proposal cannot be evaluated (negative units, a bad span)."""


def evaluate(*, limits: Iterable, history: Iterable, proposed) -> list[LimitFinding]:
    """One finding per limit: used, requested, allowed, exceeded, and why."""
    history = [_as_usage(item) for item in history]
    proposal = _as_proposal(proposed)
    exception_used = any(usage.exception for usage in history)
    findings = []
    for limit in limits:
        try:
            rule = _RULES[limit.kind]
        except KeyError:
            raise LimitInputError(f"Unknown limit kind {limit.kind!r}.") from None
        used, requested, allowed, exceeded, detail = rule(limit, history, proposal)
        exception_available = bool(limit.exception_allowed_once) and not exception_used
        findings.append(
            LimitFinding(
                limit=limit,
                used=used,
                requested=requested,
                allowed_max=allowed,
                exceeded=exceeded,
                message=_message(limit, detail, exceeded, exception_available),
                exception_available=exception_available,
            )
        )
    return findings


# --- inputs ------------------------------------------------------------------


def _decimal(value, name) -> Decimal:
    number = Decimal(str(value if value is not None else 0))
    if number < 0 or not number.is_finite():
        raise LimitInputError(f"{name} must be zero or more.")
    return number


def _as_usage(item) -> Usage:
    return Usage(
        day=item.day,
        units=_decimal(item.units, "units"),
        amount=_decimal(item.amount, "amount"),
        stay_id=str(item.stay_id) if item.stay_id not in (None, "") else None,
        exception=bool(getattr(item, "exception", False)),
    )


def _as_proposal(item) -> Proposal:
    proposal = Proposal(
        start=item.start,
        end=getattr(item, "end", None),
        units=_decimal(getattr(item, "units", 0), "units"),
        amount=_decimal(getattr(item, "amount", 0), "amount"),
        stay_id=(
            str(item.stay_id)
            if getattr(item, "stay_id", None) not in (None, "")
            else None
        ),
    )
    if proposal.end is not None and proposal.end < proposal.start:
        raise LimitInputError("The proposal ends before it starts.")
    return proposal


def _quantity(limit) -> Decimal:
    return _decimal(limit.quantity, "quantity")


def _fmt(number: Decimal) -> str:
    number = Decimal(number)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.quantize(CENT):,}"


# --- rules: each returns (used, requested, allowed, exceeded, detail) --------


def _occurrences(limit, history, proposal):
    keys = {usage.stay_id or f"day:{usage.day.isoformat()}" for usage in history}
    continuing = proposal.stay_id is not None and proposal.stay_id in keys
    used = Decimal(len(keys))
    requested = ZERO if continuing else Decimal(1)
    allowed = _quantity(limit)
    detail = f"{_fmt(used)} of {_fmt(allowed)} used" + (
        ", this continues one of them" if continuing else ", requesting 1 more"
    )
    return used, requested, allowed, used + requested > allowed, detail


def _dollars(limit, history, proposal):
    used = sum((usage.amount for usage in history), ZERO)
    allowed = _quantity(limit)
    detail = (
        f"${_fmt(used)} of ${_fmt(allowed)} used, ${_fmt(proposal.amount)} requested"
    )
    return used, proposal.amount, allowed, used + proposal.amount > allowed, detail


def _units(limit, history, proposal):
    used = sum((usage.units for usage in history), ZERO)
    allowed = _quantity(limit)
    detail = (
        f"{_fmt(used)} of {_fmt(allowed)} units used, {_fmt(proposal.units)} requested"
    )
    return used, proposal.units, allowed, used + proposal.units > allowed, detail


def _requested_days(proposal) -> Decimal:
    return Decimal(proposal.days) if proposal.end is not None else proposal.units


def _days_per_stay(limit, history, proposal):
    if proposal.stay_id is None:
        used = ZERO
    else:
        used = sum(
            (usage.units for usage in history if usage.stay_id == proposal.stay_id),
            ZERO,
        )
    requested = _requested_days(proposal)
    allowed = _quantity(limit)
    detail = (
        f"{_fmt(used)} days of this stay used, {_fmt(requested)} requested, "
        f"at most {_fmt(allowed)} a stay"
    )
    return used, requested, allowed, used + requested > allowed, detail


def _days_per_window(limit, history, proposal):
    requested = _requested_days(proposal)
    last = (
        proposal.last_day
        if proposal.end is not None
        else proposal.start + timedelta(days=max(int(math.ceil(requested)) - 1, 0))
    )
    first = last - timedelta(days=limit.window_days - 1)
    used = sum((usage.units for usage in history if first <= usage.day <= last), ZERO)
    allowed = _quantity(limit)
    detail = (
        f"{_fmt(used)} days used in the {limit.window_days} days to "
        f"{last.isoformat()}, {_fmt(requested)} requested, at most {_fmt(allowed)}"
    )
    return used, requested, allowed, used + requested > allowed, detail


def _split_by_year(proposal, amount: Decimal, exact_days: bool) -> dict[int, Decimal]:
    """The proposal's quantity per calendar year it touches."""
    if proposal.end is None or proposal.start.year == proposal.end.year:
        return {proposal.start.year: amount}
    shares: dict[int, Decimal] = {}
    total_days = Decimal(proposal.days)
    for year in range(proposal.start.year, proposal.end.year + 1):
        first = max(proposal.start, date(year, 1, 1))
        last = min(proposal.end, date(year, 12, 31))
        days = Decimal((last - first).days + 1)
        shares[year] = (
            days if exact_days else (amount * days / total_days).quantize(CENT)
        )
    if not exact_days:
        # Rounding must not lose or invent a unit: the last year takes the rest.
        last_year = proposal.end.year
        shares[last_year] = amount - sum(
            (v for y, v in shares.items() if y != last_year), ZERO
        )
    return shares


def _per_calendar_year(noun: str, exact_days: bool):
    def rule(limit, history, proposal):
        allowed = _quantity(limit)
        amount = _requested_days(proposal) if exact_days else proposal.units
        shares = _split_by_year(proposal, amount, exact_days)
        rows = []
        for year, requested in sorted(shares.items()):
            used = sum(
                (usage.units for usage in history if usage.day.year == year), ZERO
            )
            rows.append(
                (used + requested > allowed, used + requested, year, used, requested)
            )
        # The tightest year: an exceeded one first, else the fullest.
        over, _, year, used, requested = max(rows, key=lambda row: (row[0], row[1]))
        detail = (
            f"{_fmt(used)} of {_fmt(allowed)} {noun} used in {year}, "
            f"{_fmt(requested)} requested for {year}"
        )
        return used, requested, allowed, over, detail

    return rule


def _meals(limit, history, proposal):
    weeks = int(limit.weeks)
    window = int(limit.window_days or DEFAULT_COURSE_WINDOW_DAYS)
    since = proposal.start - timedelta(days=window)
    earlier = [u.day for u in history if since <= u.day < proposal.start]
    course_start = min(earlier) if earlier else proposal.start
    used_weeks = Decimal(math.ceil((proposal.start - course_start).days / 7))
    total_weeks = Decimal(math.ceil(((proposal.last_day - course_start).days + 1) / 7))
    requested_weeks = total_weeks - used_weeks
    per_day = (proposal.units / Decimal(proposal.days)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    meals_allowed = _quantity(limit)
    over_weeks = total_weeks > weeks
    over_meals = per_day > meals_allowed
    detail = (
        f"course of {_fmt(total_weeks)} weeks from {course_start.isoformat()} "
        f"(at most {weeks}); {_fmt(per_day)} meals a day requested "
        f"(at most {_fmt(meals_allowed)})"
    )
    return used_weeks, requested_weeks, Decimal(weeks), over_weeks or over_meals, detail


_RULES = {
    "once_per_lifetime": _occurrences,
    "dollars_per_lifetime": _dollars,
    "units_per_lifetime": _units,
    "days_per_stay": _days_per_stay,
    "days_per_window": _days_per_window,
    "hours_per_year": _per_calendar_year("hours", exact_days=False),
    "days_per_year": _per_calendar_year("days", exact_days=True),
    "meals_per_day_weeks": _meals,
}
KINDS = frozenset(_RULES)


def _message(limit, detail: str, exceeded: bool, exception_available: bool) -> str:
    label = getattr(limit, "description", "") or str(limit.kind).replace("_", " ")
    if not exceeded:
        return f"{label}: {detail}. Within the limit."
    if exception_available:
        return (
            f"{label}: {detail}. Over the limit; one exception may be recorded "
            "with its reason."
        )
    return f"{label}: {detail}. Over the limit, and no exception is left."
