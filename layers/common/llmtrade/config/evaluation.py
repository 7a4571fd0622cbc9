"""The `evaluation` section of risk.yaml: what the virtual accounts (benchmarks, shadows) need.
Optional: without it the defaults hold."""

from __future__ import annotations

from pydantic import Field

from llmtrade.config.base import Section


class EvaluationConfig(Section):
    tbill_rate_pct: float = Field(
        default=4.0, ge=0, le=20, description="the annual T-bill rate the cash benchmark earns")
    random_seed: int = Field(default=13, description="seeds the random-PM shadow, week by week")
