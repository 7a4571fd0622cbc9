"""Execution (SPEC §3.6): the orders a step placed, how each ended, and an account's position as a
step saw it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from llmtrade.schemas.basics import Direction, Strict
from llmtrade.schemas.broker import BrokerOrder, OrderRequest, Position


class OrderEvent(Strict):
    week_id: str
    account_id: str
    leg: str
    request: OrderRequest
    broker_order: BrokerOrder | None = None
    rejected: str | None = None


class OrderFinal(Strict):
    """How an order ended (filled, canceled, expired, rejected), with its fill, once the broker says
    so. An order submitted while closed is only `accepted`; a later step records this when it is
    known."""

    week_id: str
    account_id: str
    broker_order: BrokerOrder
    seen_at: datetime


class PositionSnapshot(Strict):
    week_id: str
    account_id: str
    at: datetime
    target_instrument: str | None
    target_direction: Direction
    conviction: int
    target_qty: int = Field(
        default=0, description="signed shares the week aims for, after the buying-power check")
    equity: Decimal
    cash: Decimal
    positions: list[Position]
    note: str = ""
