"""What every config section shares: strictness, the error naming file and field, clock types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

CONFIG_DIR_ENV = "LLMTRADE_CONFIG_DIR"
Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
WEEKDAYS: tuple[Weekday, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # weekday() order
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
# No number of the config means anything beyond this (dollars, shares, minutes): a larger one is a
# typo, and would overflow the sizing's decimals mid-run instead of being refused at load.
MAX_NUMBER = 1e12


class ConfigError(ValueError):
    """A config file is missing, unreadable or invalid; the message names file and field."""


class Section(BaseModel):
    # infinity and NaN pass no range check (.inf > 0): refused for every float field
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, allow_inf_nan=False)
