"""Operations: who runs a scheduled run, and a run the kill switch stopped."""

from __future__ import annotations

from datetime import datetime

from llmtrade.schemas.basics import Strict


class RunClaim(Strict):
    """Who runs a scheduled run: a second delivery of the same schedule finds this and stops."""

    workflow: str
    scheduled_time: datetime
    execution: str


class RunDisabled(Strict):
    """A run the kill switch stopped before it called a model or placed an order."""

    workflow: str
    at: datetime
    reason: str
