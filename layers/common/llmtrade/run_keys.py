"""The keys Step Functions state carries between steps (never documents: those live in events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Keys(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # the opening's verdict: false ends the execution at once
    # (llmtrade.workflow.Workflow.proceed_key)
    proceed: bool = True
    week_id: str


class WeekRun(Keys):
    asof: datetime = Field(description="the moment of the weekly run (Wednesday 08:00 ET)")
    pm_accounts: list[str]
    accounts: list[str]
    research_poll_seconds: int = Field(
        ge=0, description="the wait between two checks of running research")


class CheckpointRun(Keys):
    at: datetime
    accounts: list[str] = Field(description="empty when the checkpoint is skipped")


class Stopped(Keys):
    """What an opening returns when the run must not go on: a duplicate delivery, or the kill
    switch."""

    proceed: bool = False
    stopped: Literal["duplicate", "disabled"]
    reason: str


class StepInput(BaseModel):
    """What every function receives: the action, and either the execution input or the run keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    action: str
    input: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    item: str | None = None
    execution: str | None = None  # the Step Functions execution name (a local run's own name)
