"""The keys Step Functions state carries between steps (never documents: those live in events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Keys(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeekRun(Keys):
    week_id: str
    asof: datetime = Field(description="the moment of the weekly run (Wednesday 08:00 ET)")
    pm_accounts: list[str]
    accounts: list[str]
    research_poll_seconds: int = Field(ge=0, description="the wait between two checks of running research")


class CheckpointRun(Keys):
    week_id: str
    at: datetime
    accounts: list[str] = Field(description="empty when the checkpoint is skipped")


class StepInput(BaseModel):
    """What every function receives: the action, and either the execution input or the run keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    input: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    item: str | None = None
