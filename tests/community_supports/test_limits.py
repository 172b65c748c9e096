"""community_supports.limits.evaluate: every kind, its boundaries, the one exception."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from community_supports.limits import (
    KINDS,
    LimitInputError,
    Proposal,
    Usage,
    evaluate,
)
from community_supports.models import SupportLimit

D = Decimal


@dataclass
class Limit:
    kind: str
    quantity: Decimal
    window_days: int | None = None
    weeks: int | None = None
    exception_allowed_once: bool = False
    description: str = ""


def one(limit, history, proposed):
    (finding,) = evaluate(limits=[limit], history=history, proposed=proposed)
    return finding


def test_every_model_kind_has_a_rule_and_back():
    assert set(SupportLimit.Kind.values) == set(KINDS)


# --- once per lifetime ---------------------------------------------------------

DEPOSIT = Limit("once_per_lifetime", D(1), exception_allowed_once=True)


def test_first_housing_deposit_is_within_the_limit():
    finding = one(DEPOSIT, [], Proposal(start=date(2026, 3, 1), amount=D(2000)))
    assert not finding.exceeded
    assert (finding.used, finding.requested, finding.allowed_max) == (0, 1, 1)
    assert "Within the limit" in finding.message


def test_second_housing_deposit_exceeds_with_one_exception_available():
    history = [Usage(day=date(2024, 5, 2), amount=D(1800), stay_id="auth-1")]
    finding = one(DEPOSIT, history, Proposal(start=date(2026, 3, 1)))
    assert finding.exceeded
    assert finding.exception_available
    assert (finding.used, finding.requested) == (1, 1)
    assert "one exception may be recorded" in finding.message


def test_third_deposit_after_the_exception_was_used_has_no_exception_left():
    history = [
        Usage(day=date(2023, 5, 2), stay_id="auth-1"),
        Usage(day=date(2025, 1, 9), stay_id="auth-2", exception=True),
    ]
    finding = one(DEPOSIT, history, Proposal(start=date(2026, 3, 1)))
    assert finding.exceeded
    assert not finding.exception_available
    assert finding.used == 2
    assert "no exception is left" in finding.message


def test_deliveries_of_one_authorization_are_one_occurrence_and_may_continue():
    history = [
        Usage(day=date(2026, 1, 5), amount=D(1500), stay_id="auth-1"),
        Usage(day=date(2026, 1, 20), amount=D(300), stay_id="auth-1"),
    ]
    continuing = one(
        DEPOSIT, history, Proposal(start=date(2026, 2, 1), stay_id="auth-1")
    )
    assert continuing.used == 1
    assert continuing.requested == 0
    assert not continuing.exceeded


def test_usages_without_a_stay_count_one_occurrence_per_day():
    history = [Usage(day=date(2026, 1, 5)), Usage(day=date(2026, 1, 5))]
    limit = Limit("once_per_lifetime", D(2))
    assert one(limit, history, Proposal(start=date(2026, 2, 1))).used == 1
    assert not one(limit, history, Proposal(start=date(2026, 2, 1))).exceeded


def test_limit_without_exception_never_offers_one():
    limit = Limit("once_per_lifetime", D(1))
    finding = one(
        limit, [Usage(day=date(2020, 1, 1))], Proposal(start=date(2026, 1, 1))
    )
    assert finding.exceeded
    assert not finding.exception_available


# --- dollars and units per lifetime -------------------------------------------

CAP = Limit("dollars_per_lifetime", D(7500), description="EAA lifetime maximum")


@pytest.mark.parametrize(
    ("amount", "exceeded"),
    [(D("2000.00"), False), (D("2000.01"), True), (D(0), False)],
)
def test_dollar_cap_boundary(amount, exceeded):
    history = [
        Usage(day=date(2024, 1, 1), amount=D(3000)),
        Usage(day=date(2025, 6, 1), amount=D(2500)),
    ]
    finding = one(CAP, history, Proposal(start=date(2026, 1, 1), amount=amount))
    assert finding.exceeded is exceeded
    assert finding.used == D(5500)
    assert finding.remaining == D(2000)
    assert finding.message.startswith("EAA lifetime maximum: $5,500 of $7,500 used")


def test_dollar_cap_already_reached_exceeds_even_for_one_cent():
    history = [Usage(day=date(2024, 1, 1), amount=D(7500))]
    finding = one(CAP, history, Proposal(start=date(2026, 1, 1), amount=D("0.01")))
    assert finding.exceeded
    assert finding.remaining == 0


def test_units_per_lifetime_boundary():
    limit = Limit("units_per_lifetime", D(6))
    history = [Usage(day=date(2026, 1, 1), units=D(4))]
    assert not one(
        limit, history, Proposal(start=date(2026, 5, 1), units=D(2))
    ).exceeded
    assert one(limit, history, Proposal(start=date(2026, 5, 1), units=D(3))).exceeded


# --- days per stay --------------------------------------------------------------

RECUPERATIVE = Limit("days_per_stay", D(90))


def test_ninety_days_in_one_stay_is_the_boundary():
    start = date(2026, 1, 1)
    ok = one(RECUPERATIVE, [], Proposal(start=start, end=date(2026, 3, 31)))
    assert ok.requested == 90
    assert not ok.exceeded
    over = one(RECUPERATIVE, [], Proposal(start=start, end=date(2026, 4, 1)))
    assert over.requested == 91
    assert over.exceeded


def test_extension_of_the_same_stay_counts_its_used_days():
    history = [Usage(day=date(2026, 1, 1), units=D(60), stay_id="stay-7")]
    ext = Proposal(start=date(2026, 3, 2), end=date(2026, 4, 1), stay_id="stay-7")
    finding = one(RECUPERATIVE, history, ext)
    assert (finding.used, finding.requested, finding.exceeded) == (60, 31, True)
    shorter = Proposal(start=date(2026, 3, 2), end=date(2026, 3, 31), stay_id="stay-7")
    assert not one(RECUPERATIVE, history, shorter).exceeded


def test_a_new_stay_starts_from_zero():
    history = [Usage(day=date(2025, 1, 1), units=D(90), stay_id="stay-1")]
    finding = one(
        RECUPERATIVE,
        history,
        Proposal(start=date(2026, 1, 1), units=D(90), stay_id="stay-2"),
    )
    assert finding.used == 0
    assert not finding.exceeded


# --- days within a rolling window ----------------------------------------------

STPHH = Limit("days_per_window", D(180), window_days=365)


def test_rolling_window_counts_only_days_inside_it():
    history = [
        Usage(day=date(2025, 1, 1), units=D(100)),  # outside the 365 days
        Usage(day=date(2025, 8, 1), units=D(120)),  # inside
    ]
    proposal = Proposal(start=date(2026, 1, 1), end=date(2026, 3, 1))  # 60 days
    finding = one(STPHH, history, proposal)
    assert finding.used == 120
    assert finding.requested == 60
    assert not finding.exceeded  # 180: the boundary itself is allowed
    longer = Proposal(start=date(2026, 1, 1), end=date(2026, 3, 2))  # 61 days
    assert one(STPHH, history, longer).exceeded


def test_rolling_window_first_day_is_inclusive():
    # The window of 365 days ending 2026-01-10 starts 2025-01-11.
    proposal = Proposal(start=date(2026, 1, 1), end=date(2026, 1, 10))
    inside = [Usage(day=date(2025, 1, 11), units=D(171))]
    outside = [Usage(day=date(2025, 1, 10), units=D(171))]
    assert one(STPHH, inside, proposal).exceeded  # 171 + 10 = 181
    assert not one(STPHH, outside, proposal).exceeded


# --- per calendar year ------------------------------------------------------------

RESPITE = Limit("hours_per_year", D(336), exception_allowed_once=True)


def test_respite_hours_reset_on_the_first_of_january():
    history = [Usage(day=date(2025, 12, 31), units=D(336))]
    new_year = one(RESPITE, history, Proposal(start=date(2026, 1, 1), units=D(336)))
    assert not new_year.exceeded
    assert new_year.used == 0
    same_year = one(RESPITE, history, Proposal(start=date(2025, 12, 31), units=D(1)))
    assert same_year.exceeded
    assert same_year.used == 336


@pytest.mark.parametrize(("units", "exceeded"), [(D(36), False), (D("36.25"), True)])
def test_respite_hours_boundary_within_a_year(units, exceeded):
    history = [
        Usage(day=date(2026, 2, 1), units=D(150)),
        Usage(day=date(2026, 6, 1), units=D(150)),
    ]
    finding = one(RESPITE, history, Proposal(start=date(2026, 9, 1), units=units))
    assert finding.exceeded is exceeded


def test_request_across_new_year_is_split_by_days_and_checked_per_year():
    # 10 days in 2025, 10 in 2026: 100 hours split 50/50.
    history = [Usage(day=date(2025, 3, 1), units=D(300))]
    proposal = Proposal(start=date(2025, 12, 22), end=date(2026, 1, 10), units=D(100))
    finding = one(RESPITE, history, proposal)
    assert finding.exceeded  # 300 + 50 > 336 in 2025
    assert (finding.used, finding.requested) == (300, 50)
    assert "in 2025" in finding.message
    lighter = Proposal(start=date(2025, 12, 22), end=date(2026, 1, 10), units=D(72))
    ok = one(RESPITE, history, lighter)
    assert not ok.exceeded  # 336 in 2025, 36 in 2026


def test_days_per_year_counts_calendar_days_per_year():
    limit = Limit("days_per_year", D(30))
    history = [Usage(day=date(2026, 1, 5), units=D(20))]
    proposal = Proposal(start=date(2025, 12, 25), end=date(2026, 1, 3))  # 7 + 3 days
    finding = one(limit, history, proposal)
    assert not finding.exceeded
    assert (finding.used, finding.requested) == (20, 3)
    longer = Proposal(start=date(2025, 12, 25), end=date(2026, 1, 11))  # 7 + 11
    assert one(limit, history, longer).exceeded


# --- meals per day for N weeks -------------------------------------------------

MEALS = Limit("meals_per_day_weeks", D(3), weeks=12, exception_allowed_once=True)


def test_twelve_week_course_is_the_boundary_whatever_the_weekday():
    start = date(2026, 1, 7)  # a Wednesday
    ok = one(MEALS, [], Proposal(start=start, end=date(2026, 3, 31), units=D(168)))
    assert (ok.requested, ok.exceeded) == (12, False)  # 84 days, 2 meals a day
    over = one(MEALS, [], Proposal(start=start, end=date(2026, 4, 1), units=D(170)))
    assert over.exceeded
    assert over.requested == 13


def test_course_counts_weeks_since_the_first_delivery_in_the_window():
    history = [
        Usage(day=date(2026, 1, 1), units=D(14)),
        Usage(day=date(2026, 2, 26), units=D(14)),
    ]
    # Course began 2026-01-01; 8 weeks elapsed by 2026-02-26.
    proposal = Proposal(start=date(2026, 2, 26), end=date(2026, 3, 25), units=D(56))
    finding = one(MEALS, history, proposal)
    assert (finding.used, finding.requested) == (8, 4)
    assert not finding.exceeded
    beyond = Proposal(start=date(2026, 2, 26), end=date(2026, 3, 26), units=D(58))
    assert one(MEALS, history, beyond).exceeded


def test_an_old_course_outside_the_window_does_not_count():
    history = [Usage(day=date(2024, 1, 1), units=D(168))]
    proposal = Proposal(start=date(2026, 1, 1), end=date(2026, 3, 25), units=D(168))
    finding = one(MEALS, history, proposal)
    assert finding.used == 0
    assert not finding.exceeded


@pytest.mark.parametrize(("units", "exceeded"), [(D(21), False), (D(22), True)])
def test_meals_per_day_boundary(units, exceeded):
    proposal = Proposal(start=date(2026, 1, 1), end=date(2026, 1, 7), units=units)
    finding = one(MEALS, [], proposal)
    assert finding.exceeded is exceeded
    assert "meals a day" in finding.message


# --- inputs ---------------------------------------------------------------------


def test_several_limits_give_one_finding_each_in_order():
    findings = evaluate(
        limits=[CAP, DEPOSIT],
        history=[],
        proposed=Proposal(start=date(2026, 1, 1), amount=D(100)),
    )
    assert [f.limit for f in findings] == [CAP, DEPOSIT]


@pytest.mark.parametrize(
    "proposal",
    [
        Proposal(start=date(2026, 2, 1), end=date(2026, 1, 1)),
        Proposal(start=date(2026, 1, 1), units=D(-1)),
        Proposal(start=date(2026, 1, 1), amount=D(-5)),
    ],
)
def test_bad_proposal_is_refused(proposal):
    with pytest.raises(LimitInputError):
        evaluate(limits=[CAP], history=[], proposed=proposal)


def test_unknown_kind_is_refused():
    with pytest.raises(LimitInputError, match="Unknown limit kind"):
        evaluate(
            limits=[Limit("per_fortnight", D(1))],
            history=[],
            proposed=Proposal(start=date(2026, 1, 1)),
        )


def test_accepts_model_rows_and_plain_numbers():
    limit = SupportLimit(kind="dollars_per_lifetime", quantity=D(100))
    finding = one(
        limit,
        [Usage(day=date(2026, 1, 1), amount=40)],
        Proposal(start=date(2026, 1, 2), amount=61),
    )
    assert finding.exceeded
    assert finding.used == 40


@given(
    used=st.lists(st.integers(min_value=0, max_value=500), max_size=6),
    requested=st.integers(min_value=0, max_value=2000),
)
def test_dollars_exceeded_exactly_when_the_sum_passes_the_cap(used, requested):
    history = [Usage(day=date(2025, 1, 1), amount=D(u)) for u in used]
    finding = one(CAP, history, Proposal(start=date(2026, 1, 1), amount=D(requested)))
    assert finding.exceeded is (sum(used) + requested > 7500)
