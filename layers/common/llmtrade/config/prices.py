"""prices.yaml (optional): the providers' published prices as of a stated date, a cached table the
weekly estimate prices each call with. Nothing is fetched: refresh the table by hand when a provider
changes its prices, and change its date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field

from llmtrade.config.base import Section


class TokenPrice(Section):
    """USD per million tokens."""

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class CallTokens(Section):
    """The tokens of one council call (a pitch, a review, the chairman), for the estimate."""

    prompt: int = Field(ge=0)
    completion: int = Field(ge=0)


class PricesConfig(Section):
    as_of: date
    source: str
    call_tokens: CallTokens
    models: dict[str, TokenPrice]
    research_per_call_usd: dict[str, float] = Field(
        description="research provider id -> USD a weekly research run costs")

    def call_usd(self, model: str) -> float | None:
        """One council call of `model`, or None when the table does not price it."""
        price = self.models.get(model)
        if price is None:
            return None
        tokens = self.call_tokens
        return (tokens.prompt * price.prompt + tokens.completion * price.completion) / 1e6


def load_prices(config_dir: Path | None = None) -> PricesConfig | None:
    """The config folder's prices.yaml, or None when it has none."""
    from llmtrade.config.settings import _load_file, _read_text, default_config_dir

    path = (config_dir or default_config_dir()) / "prices.yaml"
    if not path.exists():
        return None
    loaded = _load_file(path, _read_text(path), PricesConfig)
    assert isinstance(loaded, PricesConfig)
    return loaded
