"""Chinese working days: the calendar the regulation's deadlines are counted in.

Articles 10, 15 and 16 give deadlines in working days (工作日). Those follow the
State Council's yearly holiday notice, with its public holidays and the
weekends turned into working days (调休), so they cannot be computed from the
weekday alone. The maintained ``chinese-calendar`` package (PyPI
``chinesecalendar``) carries those notices; a year it does not cover yet raises
``CalendarNotCovered`` rather than silently falling back to Monday–Friday.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta, timezone
from importlib import metadata

import chinese_calendar
from chinese_calendar import constants

# China has kept one offset without daylight saving since 1991; a fixed offset
# avoids depending on the system's tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

# Walking more than this many calendar days for one deadline means bad input.
_MAX_STEPS = 3660


def _package_version() -> str:
    try:
        return metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:  # pragma: no cover — installed under another name
        return getattr(chinese_calendar, "__version__", "unknown")


@functools.cache
def covered_years() -> tuple[int, int]:
    """The first and last year the installed calendar knows the holidays of.

    Cached: the package's tables never change while the gateway runs, and
    ``is_workday`` asks on every day it counts (scanning the tables took most of its time).
    """
    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return min(years), max(years)


class CalendarNotCovered(ValueError):
    """A working-day computation needs a year the installed calendar does not cover."""

    def __init__(self, year: int) -> None:
        first, last = covered_years()
        super().__init__(
            f"the Chinese working-day calendar (chinesecalendar {_package_version()}) covers {first}-{last}; "
            f"year {year} is not covered yet: upgrade the chinesecalendar package once the State Council "
            f"publishes that year's holiday notice"
        )
        self.year = year
        self.covered = (first, last)


def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day in mainland China (holidays and adjusted weekends included)."""
    if isinstance(day, datetime):
        day = day.date()
    first, last = covered_years()
    if not first <= day.year <= last:
        raise CalendarNotCovered(day.year)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarNotCovered(day.year) from None


def add_workdays(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (before it when ``count`` is negative).

    ``start`` itself is never counted, as a period "within N working days"
    starts the day after the event; ``count == 0`` returns ``start``.
    """
    if count == 0:
        return start
    step = timedelta(days=1 if count > 0 else -1)
    remaining = abs(count)
    day = start
    for _ in range(_MAX_STEPS):
        day += step
        if is_workday(day):
            remaining -= 1
            if remaining == 0:
                return day
    raise ValueError(f"{count} working days from {start} is too far away")


def due_after(at: str, count: int) -> tuple[str | None, str | None]:
    """The China date ``count`` working days after the moment ``at`` (ISO 8601), as ISO text.

    ``(date, None)``, or ``(None, why)`` when the calendar does not cover the
    years needed: a deadline that cannot be computed yet is shown as such,
    not failed on.
    """
    try:
        return add_workdays(china_date(at), count).isoformat(), None
    except CalendarNotCovered as e:
        return None, str(e)


def workdays_between(start: date, end: date) -> int:
    """Working days in the half-open span (``start``, ``end``]; negative when ``end`` is earlier."""
    if end == start:
        return 0
    sign = 1 if end > start else -1
    lo, hi = (start, end) if sign > 0 else (end, start)
    if (hi - lo).days > _MAX_STEPS:
        raise ValueError(f"span {start}..{end} is too long")
    total = 0
    day = lo
    while day < hi:
        day += timedelta(days=1)
        total += is_workday(day)
    return sign * total


def china_date(moment: str | datetime) -> date:
    """The calendar date in China of an ISO 8601 time (with offset) or an aware datetime."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        # The gateway stores UTC; a naive value can only have come from there.
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(CHINA_TZ).date()


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()


def year_bounds_utc(year: int) -> tuple[str, str]:
    """The UTC ISO strings bounding a calendar year in China, in the gateway's stored time format.

    Stored times are ``utcnow()`` strings (``…+00:00``), so these compare as text.
    """
    start = datetime(year, 1, 1, tzinfo=CHINA_TZ).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ).astimezone(timezone.utc)
    return start.isoformat(timespec="milliseconds"), end.isoformat(timespec="milliseconds")


def day_bounds_utc(first: date, last: date) -> tuple[str, str]:
    """UTC ISO strings bounding the China-time days ``first``..``last`` inclusive."""
    start = datetime(first.year, first.month, first.day, tzinfo=CHINA_TZ).astimezone(timezone.utc)
    after = last + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=CHINA_TZ).astimezone(timezone.utc)
    return start.isoformat(timespec="milliseconds"), end.isoformat(timespec="milliseconds")
