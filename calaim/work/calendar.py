"""The business-day calendar: California state holidays, Pacific time.

Timelines such as "5 business days from request" (DOMAIN.md §10b) count the days
California state government is open. The holiday list comes from the `holidays`
package (`holidays.US(subdiv="CA")`), narrowed to the days CalHR closes state
offices, because the package's California list is wider than that:

- kept: New Year's Day, Martin Luther King Jr. Day, Presidents' Day, Cesar Chavez
  Day, Memorial Day, Independence Day, Labor Day, Veterans Day, Thanksgiving, the
  Day After Thanksgiving, Christmas Day (CalHR's published state holiday list);
- left out: Susan B. Anthony Day (a commemorative day, offices open), Juneteenth
  (a federal holiday; a personal-holiday day for state employees, offices open),
  Diwali (2026 on: schools and colleges may close, state offices stay open), and
  Lincoln's Birthday and Columbus Day, which state employees lost in 2009;
- observed days follow CalHR, not the federal rule: a holiday on a Sunday is
  observed the Monday after; a holiday on a Saturday is not moved (employees get
  holiday credit, offices stay open the Friday before) except Veterans Day, which
  is observed the Friday before.

Counting fewer holidays only ever makes a due date earlier, never later, so when
a day is in doubt it counts as a business day. Change STATE_HOLIDAY_NAMES or
SATURDAY_MOVES_TO_FRIDAY to follow a plan's own calendar.

Counting convention: the day a request arrives is day 0 and counting starts the
next business day, so 5 business days from a Friday is the next Friday. A request
that arrives on a weekend or holiday counts as arriving on the next business day.
The time of day does not matter (a request at 16:59 and one at 17:01 on the same
day get the same due date). A business-day clock ends at 17:00 Pacific on its last
day; an hour clock is exact; a calendar-day clock ends at the end (23:59:59) of its
last day, whatever the weekday.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PACIFIC = ZoneInfo("America/Los_Angeles")
END_OF_BUSINESS = time(17, 0)
END_OF_DAY = time(23, 59, 59)

# The package's names for the holidays CalHR closes state offices on.
STATE_HOLIDAY_NAMES = frozenset(
    {
        "New Year's Day",
        "Martin Luther King Jr. Day",
        "Presidents' Day",
        "Cesar Chavez Day",
        "Memorial Day",
        "Independence Day",
        "Labor Day",
        "Veterans Day",
        "Thanksgiving Day",
        "Day After Thanksgiving",
        "Christmas Day",
    }
)
SATURDAY_MOVES_TO_FRIDAY = frozenset({"Veterans Day"})

SATURDAY, SUNDAY = 5, 6


@lru_cache(maxsize=256)
def state_holidays(year: int) -> dict[date, str]:
    """The days California state offices are closed for a holiday in `year`."""
    closed: dict[date, str] = {}
    # Observed days follow CalHR's rules (above), so ask for the actual dates. No
    # holiday is moved across a year's end: only Veterans Day moves backwards.
    source = holidays.US(subdiv="CA", years=year, observed=False)
    for day, names in source.items():
        for name in names.split("; "):
            if name not in STATE_HOLIDAY_NAMES:
                continue
            observed = day
            if day.weekday() == SUNDAY:
                observed = day + timedelta(days=1)
            elif day.weekday() == SATURDAY and name in SATURDAY_MOVES_TO_FRIDAY:
                observed = day - timedelta(days=1)
            if observed.weekday() < SATURDAY:
                label = name if observed == day else f"{name} (observed)"
                closed[observed] = label
    return dict(sorted(closed.items()))


def holiday_name(day: date) -> str | None:
    """The state holiday observed on `day`, if any."""
    return state_holidays(day.year).get(day)


def is_business_day(day: date) -> bool:
    """A weekday on which state offices are open."""
    day = _as_date(day)
    return day.weekday() < SATURDAY and day not in state_holidays(day.year)


def next_business_day(day: date, *, inclusive: bool = True) -> date:
    """The first business day on or after `day` (after it, if not inclusive)."""
    day = _as_date(day)
    if not inclusive:
        day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(start: date | datetime, n: int) -> date:
    """The date `n` business days after `start` (see the counting convention).

    `n` = 0 gives the business day the request counts as received on.
    """
    if n < 0:
        raise ValueError("add_business_days counts forward only (n >= 0).")
    day = next_business_day(_as_date(start))
    for _ in range(n):
        day = next_business_day(day, inclusive=False)
    return day


def business_days_between(a: date | datetime, b: date | datetime) -> int:
    """How many business days from `a` to `b`, counted as add_business_days counts.

    `business_days_between(d, add_business_days(d, n)) == n`; negative when `b` is
    before `a`, so it also says how many business days a deadline was missed by.
    """
    first, last = _as_date(a), _as_date(b)
    if last < first:
        return -business_days_between(last, first)
    day = next_business_day(first)
    count = 0
    while True:
        day = next_business_day(day, inclusive=False)
        if day > last:
            return count
        count += 1


def due_at(
    start: datetime,
    *,
    business_days: int | None = None,
    hours: float | None = None,
    calendar_days: int | None = None,
) -> datetime:
    """When a clock started at `start` runs out, as an aware Pacific datetime.

    Give exactly one of `business_days` (17:00 on the last business day),
    `hours` (exact, e.g. the 72-hour expedited decision) or `calendar_days`
    (23:59:59 on the last day).
    """
    given = [v for v in (business_days, hours, calendar_days) if v is not None]
    if len(given) != 1:
        raise ValueError("Give exactly one of business_days, hours, calendar_days.")
    if not isinstance(start, datetime) or start.utcoffset() is None:
        raise ValueError("due_at needs a timezone-aware datetime.")
    local = start.astimezone(PACIFIC)
    if hours is not None:
        if hours < 0:
            raise ValueError("hours must not be negative.")
        # In UTC: Python adds wall-clock time to a datetime in a zone, which would
        # make a 72-hour clock across the fall-back night 73 hours long.
        return (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(PACIFIC)
    if business_days is not None:
        last = add_business_days(local.date(), business_days)
        return datetime.combine(last, END_OF_BUSINESS, tzinfo=PACIFIC)
    if calendar_days < 0:
        raise ValueError("calendar_days must not be negative.")
    last = local.date() + timedelta(days=calendar_days)
    return datetime.combine(last, END_OF_DAY, tzinfo=PACIFIC)


def _as_date(value: date | datetime) -> date:
    """A datetime stands for its Pacific calendar date; a date for itself."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError("Use a timezone-aware datetime (or a date).")
        return value.astimezone(PACIFIC).date()
    return value
