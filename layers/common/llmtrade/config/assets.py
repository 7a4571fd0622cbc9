"""assets.yaml: the tradable universe (SPEC §2) and what the simulator needs of it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from llmtrade.config.base import Section


class Asset(Section):
    symbol: Annotated[str, Field(pattern=r"^[A-Z]{1,5}$")]
    name: str
    sleeve: Literal["risk_on_equity", "duration", "credit", "usd", "gold", "oil"]
    # the simulated market's expected return a year, in %; 0: neither longs nor shorts win by design
    drift_annual_pct: float = Field(default=0.0, ge=-50, le=50, allow_inf_nan=False)


# A week prices, simulates and prompts with every asset: past this a run takes minutes per step and
# the prompts outgrow the models' context. SPEC §2's universe is 15.
MAX_ASSETS = 100


class AssetsConfig(Section):
    assets: list[Asset] = Field(min_length=1, max_length=MAX_ASSETS)
    # names the simulated broker will not lend for a short (live, Alpaca's borrow_status decides)
    hard_to_borrow: tuple[str, ...] = ()

    @field_validator("assets")
    @classmethod
    def _unique(cls, assets: list[Asset]) -> list[Asset]:
        symbols = [a.symbol for a in assets]
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must be unique")
        return assets

    @model_validator(mode="after")
    def _borrow_list_in_universe(self) -> AssetsConfig:
        if unknown := sorted(set(self.hard_to_borrow) - set(self.symbols)):
            raise ValueError(f"hard_to_borrow names symbols not in the universe: {unknown}")
        return self

    @property
    def symbols(self) -> list[str]:
        return [a.symbol for a in self.assets]
