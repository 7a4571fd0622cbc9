"""Checkpoints driven the way production drives them: by prices and frozen indicators, never by
patching the decision. A scripted market is the simulated one, except that a symbol trades at a
price a test sets in a window; the broker fills and values positions at those prices too, so P/L
and indicators move together."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Literal, cast

from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.config import AssetsConfig
from llmtrade.ports import Broker
from llmtrade.schemas import Indicator
from llmtrade.services import Services


@dataclasses.dataclass(frozen=True)
class Quote:
    """`symbol` trades at `price` from `start` until `end` (None: from then on)."""

    symbol: str
    price: Decimal
    start: datetime
    end: datetime | None = None


class ScriptedMarket(SimMarket):
    def __init__(self, assets: AssetsConfig, quotes: list[Quote]) -> None:
        super().__init__(assets)
        self.quotes = quotes

    def price(self, symbol: str, at: datetime) -> Decimal:
        for quote in self.quotes:
            if (quote.symbol == symbol and quote.start <= at
                    and (quote.end is None or at < quote.end)):
                return quote.price
        return super().price(symbol, at)


def scripted(services: Services, *quotes: Quote) -> Services:
    """The same services (store, broker ledger) over a market that quotes as scripted."""
    market = ScriptedMarket(services.settings.assets, list(quotes))
    ledger = cast(SimBroker, services.broker_at(datetime.now().astimezone()))._ledger
    risk = services.settings.risk

    def broker_at(moment: datetime) -> Broker:
        return SimBroker(market, ledger, starting_equity=risk.starting_equity_usd,
                         min_equity_for_short=risk.min_equity_for_short_usd, clock=lambda: moment)

    return dataclasses.replace(services, market=market, broker_at=broker_at)


def always(role: Literal["confirms", "invalidates", "flips"], instrument: str) -> Indicator:
    """A frozen indicator that fires at every checkpoint (any price is above 0)."""
    return Indicator(name=f"always {role}", measure="price", instrument=instrument,
                     comparison=">", threshold=0, role=role)


def never(role: Literal["confirms", "invalidates", "flips"], instrument: str) -> Indicator:
    """A frozen indicator that never fires (no price is below 0)."""
    return Indicator(name=f"never {role}", measure="price", instrument=instrument,
                     comparison="<", threshold=0, role=role)
