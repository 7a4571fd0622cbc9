"""risk.yaml: sizing and the checkpoint rules' levels."""

from __future__ import annotations

from pydantic import (
    Field,
    model_validator,
)

from llmtrade.config.base import Section
from llmtrade.config.evaluation import EvaluationConfig


class CheckpointRules(Section):
    stop_loss_pct: float = Field(gt=0, le=50)
    reduce_loss_pct: float = Field(gt=0, le=50)

    @model_validator(mode="after")
    def _reduce_before_stop(self) -> CheckpointRules:
        if self.reduce_loss_pct >= self.stop_loss_pct:
            raise ValueError("reduce_loss_pct must be below stop_loss_pct")
        return self


class OrderRules(Section):
    """How orders are worked within a step: the protective stop, and the bounded wait for fills."""

    # a resting stop order at the broker at the checkpoint stop level, replaced or cancelled by
    # every checkpoint action, so the loss limit holds between checkpoints
    protective_stop: bool = True
    # a checkpoint waits at most this long (polling) for a leg to fill, e.g. a flip's close
    fill_wait_seconds: float = Field(default=30, ge=0, le=600)
    fill_poll_seconds: float = Field(default=2, gt=0, le=60)


class RiskConfig(Section):
    starting_equity_usd: float = Field(gt=0)
    risk_budget_usd: float = Field(gt=0)
    min_equity_for_short_usd: float = Field(ge=0)
    checkpoint: CheckpointRules
    evaluation: EvaluationConfig = EvaluationConfig()
    orders: OrderRules = OrderRules()
