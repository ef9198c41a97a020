"""Working-day arithmetic against the State Council's holiday notices for 2025 and 2026.

Expected dates are read off the notices themselves (国办发明电), not off the
package: Spring Festival 2026 is 15–23 February with Saturdays 14 and 28
February worked; National Day 2026 is 1–7 October with Sunday 20 September
and Saturday 10 October worked; Spring Festival 2025 is 28 January – 4
February with Sunday 26 January and Saturday 8 February worked; National Day
2025 is 1–8 October with Sunday 28 September and Saturday 11 October worked.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from gateway import workdays
from gateway.workdays import CalendarNotCovered, add_workdays, china_date, is_workday, workdays_between


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 2, 14), True),   # Saturday worked before Spring Festival
        (date(2026, 2, 16), False),  # Monday inside the holiday
        (date(2026, 2, 23), False),  # last day of the holiday, a Monday
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),   # Saturday worked after
        (date(2026, 9, 20), True),   # Sunday worked before National Day
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday worked after
        (date(2026, 10, 11), False),
        (date(2025, 1, 26), True),
        (date(2025, 2, 3), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),
        (date(2026, 3, 7), False),   # an ordinary Saturday
    ],
)
def test_is_workday_follows_the_notices(day: date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_ten_working_days_across_spring_festival_2026() -> None:
    # From Friday 13 Feb: Sat 14 (worked) is day 1, the holiday 15–23 is skipped,
    # 24, 25, 26, 27 are days 2–5, Sat 28 (worked) is day 6, then 2, 3, 4, 5 March.
    assert add_workdays(date(2026, 2, 13), 10) == date(2026, 3, 5)
    assert add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_ten_working_days_across_national_day_2026() -> None:
    # From Tue 29 Sep: 30 Sep is day 1, 1–7 Oct off, 8, 9, Sat 10 are 2–4,
    # Sun 11 off, then 12–16 are 5–9 and Mon 19 is day 10.
    assert add_workdays(date(2026, 9, 29), 10) == date(2026, 10, 19)


def test_counting_backwards_across_national_day_2025() -> None:
    # 15 working days before Mon 20 Oct 2025: 17,16,15,14,13 (5), Sat 11 (6),
    # 10, 9 (8), 1–8 Oct off, 30, 29 Sep (10), Sun 28 Sep (11), 26, 25, 24, 23 (15).
    assert add_workdays(date(2025, 10, 20), -15) == date(2025, 9, 23)


def test_workdays_between_counts_the_half_open_span() -> None:
    assert workdays_between(date(2026, 2, 13), date(2026, 3, 5)) == 10
    assert workdays_between(date(2026, 3, 5), date(2026, 2, 13)) == -10
    assert workdays_between(date(2026, 2, 15), date(2026, 2, 23)) == 0
    assert add_workdays(date(2026, 5, 6), 0) == date(2026, 5, 6)


def test_uncovered_year_is_a_clear_error() -> None:
    first, last = workdays.covered_years()
    with pytest.raises(CalendarNotCovered) as info:
        is_workday(date(last + 1, 3, 2))
    assert info.value.year == last + 1
    assert f"year {last + 1} is not covered" in str(info.value)
    assert "chinesecalendar" in str(info.value)
    with pytest.raises(CalendarNotCovered):
        add_workdays(date(last, 12, 28), 10)
    with pytest.raises(CalendarNotCovered):
        is_workday(date(first - 1, 6, 1))


def test_china_date_uses_beijing_time() -> None:
    # 17:00 UTC on 31 December is already 1 January in Beijing.
    assert china_date("2025-12-31T17:00:00.000+00:00") == date(2026, 1, 1)
    assert china_date(datetime(2025, 12, 31, 15, 59, tzinfo=timezone.utc)) == date(2025, 12, 31)
    start, end = workdays.year_bounds_utc(2026)
    assert start == "2025-12-31T16:00:00.000+00:00" and end == "2026-12-31T16:00:00.000+00:00"
