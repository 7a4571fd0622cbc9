"""Week ids, Eastern time and the NYSE calendar (from the exchange's published holiday list), and
the checkpoint moments it adds to the schedule: on an early-close day one at close - 10 minutes,
as 15:50 is on a regular day. The schedule's later times are kept (they record skips, as the
weekly cron schedules in AWS do on those days), so the replay and AWS run the same moments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from llmtrade.config import ScheduleConfig, yaml_twin

HOLIDAYS = Path(__file__).resolve().parents[1] / "data" / "nyse_holidays.yaml"
ET = ZoneInfo("America/New_York")
WEDNESDAY = 2
REGULAR_OPEN, REGULAR_CLOSE, EARLY_CLOSE = time(9, 30), time(16, 0), time(13, 0)
PRE_CLOSE = timedelta(minutes=10)  # the pre-close checkpoint's lead on an early close


class CalendarError(ValueError):
    pass


def parse_week_id(text: str) -> date:
    """A week id is the Wednesday of the weekly run, as YYYY-MM-DD."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise CalendarError(f"week {text!r} is not a date YYYY-MM-DD") from exc
    if day.weekday() != WEDNESDAY:
        raise CalendarError(f"week {text} is a {day:%A}: a week id must be a Wednesday")
    return day


def week_id_for(moment: datetime) -> str:
    """The week a moment belongs to: the latest Wednesday on or before it, in Eastern time."""
    day = moment.astimezone(ET).date()
    return (day - timedelta(days=(day.weekday() - WEDNESDAY) % 7)).isoformat()


def current_or_next_wednesday(today: date) -> str:
    return (today + timedelta(days=(WEDNESDAY - today.weekday()) % 7)).isoformat()


def et(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ET)


@cache
def _nyse() -> tuple[frozenset[int], frozenset[date], frozenset[date]]:
    data = yaml_twin.parse(HOLIDAYS.read_text(encoding="utf-8"), HOLIDAYS)
    return (frozenset(data["covered_years"]), frozenset(data["closed"]),
            frozenset(data["early_close"]))


def nyse_hours(day: date) -> tuple[datetime, datetime] | None:
    """(open, close) in Eastern time, or None when the NYSE is closed that day."""
    years, closed, early = _nyse()
    if day.year not in years:
        raise CalendarError(f"{day}: the NYSE holiday list covers {min(years)}-{max(years)} only")
    if day.weekday() >= 5 or day in closed:
        return None
    return et(day, REGULAR_OPEN), et(day, EARLY_CLOSE if day in early else REGULAR_CLOSE)


def trading_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if nyse_hours(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def early_closes(since: date) -> list[date]:
    """The early-close days the calendar data holds, from `since` on."""
    return sorted(day for day in _nyse()[2] if day >= since)


def pre_close_checkpoint(schedule: ScheduleConfig, day: date) -> datetime | None:
    """On an early-close day with checkpoints, the one at close - 10 min unless scheduled anyway."""
    hours = nyse_hours(day)
    scheduled = schedule.checkpoint_moments(day)
    if hours is None or hours[1].time() != EARLY_CLOSE or not scheduled:
        return None
    moment = hours[1] - PRE_CLOSE
    return None if moment in scheduled else moment


def checkpoint_moments(schedule: ScheduleConfig, day: date) -> list[datetime]:
    """The day's checkpoints in order: the schedule's, and an early close's pre-close one."""
    pre_close = pre_close_checkpoint(schedule, day)
    return sorted([*schedule.checkpoint_moments(day), *([pre_close] if pre_close else [])])
