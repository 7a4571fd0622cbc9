"""What a broker takes and gives (SPEC §3.6): an order request, the broker's order, a position, the
account's money and what it says about an asset. The `Broker` port (`llmtrade.ports`) speaks these;
both adapters (Alpaca, the simulator) return exactly them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmtrade.schemas.basics import Strict


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderRequest(Strict):
    symbol: str
    qty: int = Field(gt=0,
                     description="whole shares: valid for shorts and while the market is closed")
    side: OrderSide
    type: Literal["market"] = "market"
    time_in_force: Literal["day"] = "day"
    client_order_id: Annotated[str, Field(max_length=128)]


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


class Position(Strict):
    symbol: str
    qty: int
    avg_entry_price: Decimal
    market_value: Decimal
    unrealized_pl: Decimal


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True)
    equity: Decimal
    cash: Decimal
    buying_power: Decimal


class AssetInfo(BaseModel):
    """What the broker says about a symbol (Alpaca's GET /v2/assets/{symbol})."""

    model_config = ConfigDict(frozen=True)
    symbol: str
    tradable: bool
    shortable: bool
    easy_to_borrow: bool
