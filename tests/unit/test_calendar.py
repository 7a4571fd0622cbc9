from __future__ import annotations

from datetime import date, datetime

import pytest
from llmtrade.config import ScheduleConfig, Settings
from llmtrade.domain.calendar import (
    ET,
    CalendarError,
    checkpoint_moments,
    current_or_next_wednesday,
    early_closes,
    nyse_hours,
    parse_week_id,
    trading_days,
    week_id_for,
)


def test_week_ids_are_wednesdays() -> None:
    assert parse_week_id("2026-11-25") == date(2026, 11, 25)
    with pytest.raises(CalendarError, match="is a Tuesday"):
        parse_week_id("2026-11-24")
    with pytest.raises(CalendarError, match="not a date"):
        parse_week_id("next week")


def test_default_week_is_the_current_or_next_wednesday() -> None:
    assert current_or_next_wednesday(date(2026, 11, 24)) == "2026-11-25"
    assert current_or_next_wednesday(date(2026, 11, 25)) == "2026-11-25"
    assert current_or_next_wednesday(date(2026, 11, 26)) == "2026-12-02"


def test_a_moment_belongs_to_the_latest_wednesday_in_eastern_time() -> None:
    assert week_id_for(datetime(2026, 11, 25, 8, 0, tzinfo=ET)) == "2026-11-25"
    assert week_id_for(datetime(2026, 12, 1, 15, 50, tzinfo=ET)) == "2026-11-25"
    # 01:00 UTC on Thursday is still Wednesday evening in New York
    assert week_id_for(datetime.fromisoformat("2026-12-03T01:00:00+00:00")) == "2026-12-02"


def test_nyse_holidays_and_early_closes() -> None:
    assert nyse_hours(date(2026, 11, 26)) is None  # Thanksgiving
    early = nyse_hours(date(2026, 11, 27))
    assert early is not None and early[1].hour == 13  # early close
    assert nyse_hours(date(2025, 1, 1)) is None  # a Wednesday holiday
    assert nyse_hours(date(2026, 7, 3)) is None  # Independence Day observed
    assert nyse_hours(date(2026, 11, 28)) is None  # Saturday
    hours = nyse_hours(date(2026, 11, 25))
    assert hours is not None
    open_, close = hours
    assert (open_.hour, open_.minute, close.hour) == (9, 30, 16)
    assert open_.utcoffset() != datetime(2026, 7, 1, tzinfo=ET).utcoffset()  # EST vs EDT
    assert len(trading_days(date(2026, 11, 23), date(2026, 11, 29))) == 4


def test_years_outside_the_list_are_refused_not_guessed() -> None:
    with pytest.raises(CalendarError, match="covers 2024-2028"):
        nyse_hours(date(2031, 1, 6))


def test_an_early_close_adds_a_checkpoint_ten_minutes_before_it(settings: Settings) -> None:
    schedule = settings.schedule

    def clocks(day: date, config: ScheduleConfig = schedule) -> list[str]:
        return [f"{m:%H:%M}" for m in checkpoint_moments(config, day)]

    # the day after Thanksgiving closes at 13:00: 12:50 joins; the later times stay (they skip)
    assert clocks(date(2026, 11, 27)) == ["09:00", "12:00", "12:50", "14:00", "15:50"]
    assert clocks(date(2026, 11, 30)) == ["09:00", "12:00", "14:00", "15:50"]  # a regular day
    assert clocks(date(2026, 11, 26)) == ["09:00", "12:00", "14:00", "15:50"]  # closed: skips
    no_fridays = schedule.model_copy(update={"checkpoints": schedule.checkpoints.model_copy(
        update={"days": ["MON", "TUE", "WED", "THU"]})})
    assert clocks(date(2026, 11, 27), no_fridays) == []
    at_12_50 = schedule.model_copy(update={"checkpoints": schedule.checkpoints.model_copy(
        update={"times": ["09:00", "12:50"]})})
    assert clocks(date(2026, 11, 27), at_12_50) == ["09:00", "12:50"]
    assert early_closes(date(2026, 11, 28)) == [date(2026, 12, 24), date(2027, 11, 26),
                                                date(2028, 7, 3), date(2028, 11, 24)]
