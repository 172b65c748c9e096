"""The business-day calendar: California state holidays, Pacific time."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calaim.work.calendar import (
    PACIFIC,
    add_business_days,
    business_days_between,
    due_at,
    is_business_day,
    next_business_day,
    state_holidays,
)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
counts = st.integers(min_value=0, max_value=400)
BOUNDED = settings(max_examples=200, deadline=None)


def test_2026_state_holidays_are_the_calhr_list():
    """Pins the whole year, so a `holidays` upgrade that renames or adds a day
    fails here instead of silently moving due dates."""
    assert state_holidays(2026) == {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 1, 19): "Martin Luther King Jr. Day",
        date(2026, 2, 16): "Presidents' Day",
        date(2026, 3, 31): "Cesar Chavez Day",
        date(2026, 5, 25): "Memorial Day",
        date(2026, 9, 7): "Labor Day",
        date(2026, 11, 11): "Veterans Day",
        date(2026, 11, 26): "Thanksgiving Day",
        date(2026, 11, 27): "Day After Thanksgiving",
        date(2026, 12, 25): "Christmas Day",
    }


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 11, 26), "Thanksgiving"),
        (date(2026, 11, 27), "the day after Thanksgiving, a CA state holiday"),
        (date(2026, 12, 25), "Christmas"),
        (date(2026, 3, 31), "Cesar Chavez Day"),
        (date(2023, 1, 2), "New Year's Day on a Sunday, observed Monday"),
        (date(2022, 12, 26), "Christmas on a Sunday, observed Monday"),
        (date(2023, 11, 10), "Veterans Day on a Saturday, observed Friday"),
        (date(2026, 11, 28), "a Saturday"),
        (date(2026, 11, 29), "a Sunday"),
    ],
)
def test_days_state_offices_are_closed(day, why):
    assert not is_business_day(day), why


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 7, 3), "July 4 on a Saturday: CalHR gives credit, no Friday"),
        (date(2026, 6, 19), "Juneteenth: not a CalHR closure"),
        (date(2027, 2, 12), "Lincoln's Birthday: dropped for state employees 2009"),
        (date(2026, 11, 9), "Diwali 2026 (Nov 8 is a Sunday; nothing moves)"),
        (date(2027, 10, 29), "Diwali 2027: schools may close, state offices open"),
        (date(2027, 12, 24), "Christmas on a Saturday: the Friday stays open"),
        (date(2026, 11, 25), "the Wednesday before Thanksgiving"),
    ],
)
def test_days_that_count_as_business_days(day, why):
    assert is_business_day(day), why


def test_five_business_days_from_a_friday_is_the_next_friday():
    assert add_business_days(date(2026, 10, 2), 5) == date(2026, 10, 9)


def test_thanksgiving_week_pushes_the_due_date_two_days():
    # Monday Nov 23, 2026: Thanksgiving and the day after are skipped.
    assert add_business_days(date(2026, 11, 23), 5) == date(2026, 12, 2)


def test_a_request_on_a_holiday_counts_from_the_next_business_day():
    # Received on Thanksgiving: counts as received Monday Nov 30.
    assert add_business_days(date(2026, 11, 26), 0) == date(2026, 11, 30)
    assert add_business_days(date(2026, 11, 26), 2) == date(2026, 12, 2)


def test_a_request_on_a_saturday_counts_from_monday():
    assert add_business_days(date(2026, 10, 3), 5) == date(2026, 10, 12)


def test_christmas_and_new_year_are_skipped():
    # Tue Dec 22, 2026; Dec 25 and Jan 1 are Fridays.
    assert add_business_days(date(2026, 12, 22), 5) == date(2026, 12, 30)
    assert add_business_days(date(2026, 12, 22), 7) == date(2027, 1, 4)


def test_a_datetime_counts_by_its_pacific_date():
    # 02:00 UTC on Saturday is still Friday evening in California.
    friday_evening = datetime(2026, 10, 3, 2, 0, tzinfo=UTC)
    assert add_business_days(friday_evening, 5) == date(2026, 10, 9)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_days(datetime(2026, 10, 2, 9, 0), 1)


def test_counting_backwards_is_refused():
    with pytest.raises(ValueError, match="forward"):
        add_business_days(date(2026, 10, 2), -1)


def test_business_day_clock_ends_at_five_pm_pacific():
    request = datetime(2026, 10, 2, 16, 30, tzinfo=PACIFIC)  # a Friday
    assert due_at(request, business_days=5) == datetime(
        2026, 10, 9, 17, 0, tzinfo=PACIFIC
    )


def test_business_day_clock_over_the_dst_change_still_ends_at_five_pm():
    request = datetime(2026, 10, 30, 12, 0, tzinfo=PACIFIC)  # DST ends Nov 1
    due = due_at(request, business_days=5)
    assert due == datetime(2026, 11, 6, 17, 0, tzinfo=PACIFIC)
    assert due.utcoffset() == timedelta(hours=-8)


def test_the_72_hour_clock_is_exact_even_over_a_weekend_and_dst():
    request = datetime(2026, 10, 30, 12, 0, tzinfo=PACIFIC)  # Friday, PDT
    due = due_at(request, hours=72)
    # Subtract in UTC: within one zone Python subtracts wall-clock times.
    assert due.astimezone(UTC) - request.astimezone(UTC) == timedelta(hours=72)
    # 72 elapsed hours across the fall-back hour read 11:00 on the wall clock.
    assert (due.date(), due.hour) == (date(2026, 11, 2), 11)
    assert due.tzinfo == PACIFIC


def test_calendar_day_clock_ends_at_the_end_of_its_last_day():
    discharge = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 07:00 Pacific
    assert due_at(discharge, calendar_days=7) == datetime(
        2026, 11, 27, 23, 59, 59, tzinfo=PACIFIC
    )


@pytest.mark.parametrize(
    "clocks",
    [{}, {"hours": 72, "business_days": 5}, {"calendar_days": 1, "hours": 1}],
)
def test_due_at_needs_exactly_one_clock(clocks):
    with pytest.raises(ValueError, match="exactly one"):
        due_at(datetime(2026, 10, 2, tzinfo=UTC), **clocks)


def test_due_at_refuses_a_naive_start():
    with pytest.raises(ValueError, match="aware"):
        due_at(datetime(2026, 10, 2, 9, 0), business_days=1)


def test_business_days_between_is_negative_when_the_end_is_earlier():
    assert business_days_between(date(2026, 10, 9), date(2026, 10, 2)) == -5


@BOUNDED
@given(day=days, n=counts)
def test_adding_business_days_lands_on_a_business_day(day, n):
    assert is_business_day(add_business_days(day, n))


@BOUNDED
@given(day=days, n=counts)
def test_adding_more_business_days_never_lands_earlier(day, n):
    assert add_business_days(day, n) < add_business_days(day, n + 1)
    assert add_business_days(day, n) >= day


@BOUNDED
@given(day=days, n=counts)
def test_between_undoes_add(day, n):
    assert business_days_between(day, add_business_days(day, n)) == n


@BOUNDED
@given(day=days, n=st.integers(min_value=1, max_value=400))
def test_n_business_days_span_at_least_n_weekdays(day, n):
    # Never fewer calendar days than business days, and at most n // 5 * 2 weekend
    # days plus 13 holidays a year plus the start's roll-forward.
    end = add_business_days(day, n)
    assert (end - day).days >= n
    years = end.year - day.year + 1
    assert (end - day).days <= n + (n // 5 + 2) * 2 + 13 * years + 4


@BOUNDED
@given(a=days, b=days)
def test_between_is_antisymmetric_between_business_days(a, b):
    a, b = next_business_day(a), next_business_day(b)
    assert business_days_between(a, b) == -business_days_between(b, a)


@BOUNDED
@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2060, 12, 31),
        timezones=st.just(UTC),
    ),
    n=st.integers(min_value=0, max_value=60),
)
def test_business_day_due_times_are_five_pm_on_a_business_day(moment, n):
    due = due_at(moment, business_days=n)
    assert due.tzinfo == PACIFIC
    assert (due.hour, due.minute) == (17, 0)
    assert is_business_day(due.date())
    assert due.date() >= moment.astimezone(PACIFIC).date()
