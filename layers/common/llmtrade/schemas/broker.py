"""What a broker takes and gives (SPEC §3.6): an order request, the broker's order, a position, the
account's money and what it says about an asset. The `Broker` port (`llmtrade.ports`) speaks these;
both adapters (Alpaca, the simulator) return exactly them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmtrade.schemas.basics import Strict


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderRequest(Strict):
    symbol: str
    qty: int = Field(gt=0,
                     description="whole shares: valid for shorts and while the market is closed")
    side: OrderSide
    # a market order for the day, or a protective stop resting until cancelled (Alpaca's `stop`:
    # a market order once the price trades through stop_price; `gtc` outlasts the week)
    type: Literal["market", "stop"] = "market"
    time_in_force: Literal["day", "gtc"] = "day"
    stop_price: Decimal | None = None
    client_order_id: Annotated[str, Field(max_length=128)]
    # an entry's protective stop, attached (Alpaca's `oto` order class with `stop_loss`): a stop
    # order on the other side at this price, held until this market order fills, then resting
    # until cancelled; the broker names it (Alpaca chooses a leg's client_order_id itself)
    stop_loss: Decimal | None = None

    @model_validator(mode="after")
    def _stop_price_with_stops_only(self) -> OrderRequest:
        if (self.type == "stop") != (self.stop_price is not None):
            raise ValueError("a stop order needs a stop_price, and only a stop order has one")
        if self.stop_loss is not None and (self.type, self.time_in_force) != ("market", "gtc"):
            raise ValueError("a stop_loss rides on a market gtc order (its leg inherits the gtc)")
        return self

    @classmethod
    def stop(cls, symbol: str, qty: int, side: OrderSide, stop_price: Decimal,
             client_order_id: str) -> OrderRequest:
        return cls(symbol=symbol, qty=qty, side=side, type="stop", time_in_force="gtc",
                   stop_price=stop_price, client_order_id=client_order_id)


class BrokerOrder(Strict):
    id: str
    client_order_id: str
    symbol: str
    qty: int
    side: OrderSide
    status: str
    submitted_at: datetime
    filled_at: datetime | None = None
    filled_qty: int = 0  # less than qty while partially filled
    filled_avg_price: Decimal | None = None
    type: str = "market"  # Alpaca's order type (market, stop, ...)
    stop_price: Decimal | None = None
    legs: list[BrokerOrder] = []  # an `oto` order's attached stop (`held` until this one fills)

    @property
    def is_open(self) -> bool:
        """Still able to fill (new, accepted, partially filled, ...): not in a final state."""
        return self.status not in FINAL_STATUSES


HELD = "held"  # an attached leg waiting for its parent to fill: it rests nowhere yet

# no further fill can come (Alpaca's OrderStatus: filled, canceled, expired, rejected, and the
# day's end or a replacement)
FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "done_for_day",
                            "replaced"})


class Position(Strict):
    symbol: str
    qty: int
    avg_entry_price: Decimal
    market_value: Decimal
    unrealized_pl: Decimal


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    equity: Decimal
    cash: Decimal
    buying_power: Decimal


class AssetInfo(BaseModel):
    """What the broker says about a symbol (Alpaca's GET /v2/assets/{symbol})."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    symbol: str
    tradable: bool
    shortable: bool
    easy_to_borrow: bool
