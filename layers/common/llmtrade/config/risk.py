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


class RiskConfig(Section):
    starting_equity_usd: float = Field(gt=0)
    risk_budget_usd: float = Field(gt=0)
    min_equity_for_short_usd: float = Field(ge=0)
    checkpoint: CheckpointRules
    evaluation: EvaluationConfig = EvaluationConfig()
