"""Checkpoints (SPEC §4): what a checkpoint decided for an account, from which readings and inputs
(so the decision can be replayed), or why a checkpoint did not run.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from llmtrade.schemas.answers.council import Indicator
from llmtrade.schemas.basics import Strict
from llmtrade.schemas.broker import Position


class CheckpointAction(StrEnum):
    STAY = "STAY"
    EXIT = "EXIT"
    FLIP = "FLIP"
    REDUCE = "REDUCE"


class IndicatorReading(Strict):
    indicator: Indicator
    value: float
    fired: bool


class CheckpointInputs(Strict):
    """What a checkpoint decided from besides `conviction_before` and its indicator readings:
    with them, `domain.checkpoint_rules.decide` gives the recorded decision again (replay)."""

    weekly_conviction: int
    instrument: str | None
    position: Position | None
    week_entry_price: Decimal
    short_borrowable: bool | None
    stop_loss_pct: float
    reduce_loss_pct: float


class CheckpointUpdate(Strict):
    week_id: str
    account_id: str
    at: datetime
    action: CheckpointAction
    conviction_before: int
    conviction_after: int
    reason_delta: str
    indicators: list[IndicatorReading]
    unrealized_pl: Decimal
    inputs: CheckpointInputs | None = None  # None: recorded before the inputs were


class CheckpointSkipped(Strict):
    week_id: str
    at: datetime
    reason: str
