"""schedule.yaml: the weekly run and the checkpoints, and the moments they fall on (ET)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    field_validator,
)

from llmtrade.config.base import WEEKDAYS, ClockTime, Section, Weekday


class WeeklyRun(Section):
    day: Weekday
    time: ClockTime


class Checkpoints(Section):
    days: list[Weekday] = Field(min_length=1)
    times: list[ClockTime] = Field(min_length=1)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[Weekday]) -> list[Weekday]:
        if weekend := [d for d in days if d in ("SAT", "SUN")]:
            raise ValueError(f"{', '.join(weekend)}: the market is closed on weekends")
        if len(set(days)) != len(days):
            raise ValueError("a day is listed twice")
        return days

    @field_validator("times")
    @classmethod
    def _in_session(cls, times: list[str]) -> list[str]:
        if outside := [t for t in times if not "04:00" <= t < "16:00"]:  # pre-market ones queue
            raise ValueError(f"{', '.join(outside)}: "
                             "a checkpoint must be between 04:00 and the 16:00 close")
        if len(set(times)) != len(times):
            raise ValueError("a time is listed twice")
        return sorted(times)


class ScheduleConfig(Section):
    timezone: Literal["America/New_York"]
    weekly_run: WeeklyRun
    checkpoints: Checkpoints
    # a live run (or research round) this long after its scheduled moment is refused: decisions are
    # made forward only; a pack produced later than this after the run marks its week late
    live_grace_hours: float = Field(default=2.0, gt=0)

    @field_validator("weekly_run")
    @classmethod
    def _wednesday(cls, run: WeeklyRun) -> WeeklyRun:
        if run.day != "WED":
            raise ValueError("week_id is the Wednesday of the run (SPEC §3): "
                             "the weekly run must be on WED")
        return run

    # The one place the moments are computed: the steps, CLI replay and infra schedules read them.
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def weekly_run_clock(self) -> time:
        return time.fromisoformat(self.weekly_run.time)

    @property
    def checkpoint_clocks(self) -> list[time]:
        return [time.fromisoformat(clock) for clock in self.checkpoints.times]

    def weekly_run_at(self, week: str | date) -> datetime:
        """A week's weekly-run moment; `week` is its id (the Wednesday of the run, YYYY-MM-DD)."""
        day = date.fromisoformat(week) if isinstance(week, str) else week
        return datetime.combine(day, self.weekly_run_clock, tzinfo=self.zone)

    def checkpoint_moments(self, day: date) -> list[datetime]:
        """The day's checkpoints in order, none on other days (on a holiday it records a skip)."""
        if WEEKDAYS[day.weekday()] not in self.checkpoints.days:
            return []
        return [datetime.combine(day, clock, tzinfo=self.zone) for clock in self.checkpoint_clocks]
