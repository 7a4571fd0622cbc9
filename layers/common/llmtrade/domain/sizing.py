"""Position sizing and the orders that move an account from what it holds to its target."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict

from llmtrade.schemas import OrderSide, Position


def target_shares(conviction: int, risk_budget_usd: float, price: Decimal) -> int:
    """Signed whole shares worth |conviction|/2 of the risk budget (+ long, - short)."""
    if conviction == 0:
        return 0
    value = Decimal(str(risk_budget_usd)) * Decimal(abs(conviction)) / 2
    shares = int((value / price).to_integral_value(rounding=ROUND_DOWN))
    return shares if conviction > 0 else -shares


SHORT_PRICE_BUFFER = Decimal("1.03")  # Alpaca checks a short's buying power at the ask + 3 %


def fit_to_buying_power(target: int, held: int, price: Decimal, buying_power: Decimal) -> int:
    """The target shrunk toward zero until the exposure it adds fits the buying power.

    Shares already held on the target's side need none; closing a position on the other side frees
    its value.
    """
    if target == 0:
        return 0
    same_side = held if held and (held > 0) == (target > 0) else 0
    adding = abs(target) - abs(same_side)
    if adding <= 0:
        return target
    freed = abs(held) * price if not same_side else Decimal(0)
    unit = price * (SHORT_PRICE_BUFFER if target < 0 else 1)
    affordable = int(((buying_power + freed) / unit).to_integral_value(rounding=ROUND_DOWN))
    shares = abs(same_side) + max(0, min(adding, affordable))
    return shares if target > 0 else -shares


class Leg(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    name: str  # close | adjust | open: part of the deterministic client_order_id
    symbol: str
    side: OrderSide
    qty: int


def legs_to_target(positions: list[Position], symbol: str | None, target_qty: int) -> list[Leg]:
    """Orders taking `positions` to `target_qty` shares of `symbol` (None: hold nothing).

    A position already on the same side is adjusted, never closed and reopened (SPEC §3.1). Crossing
    from long to short (or back) is a close leg and an open leg: the broker accepts the open only
    once the close has filled, so the caller submits legs in order and stops at the first unfilled.
    """
    held = next((p.qty for p in positions if p.symbol == symbol), 0)
    closes = [_leg("close", p.symbol, -p.qty) for p in positions if p.symbol != symbol and p.qty]
    return closes if symbol is None else closes + _legs_in(symbol, held, target_qty)


def _legs_in(symbol: str, held: int, target_qty: int) -> list[Leg]:
    if held == target_qty:
        return []
    if held == 0 or ((held > 0) == (target_qty > 0) and target_qty != 0):
        return [_leg("adjust" if held else "open", symbol, target_qty - held)]
    return [_leg("close", symbol, -held)] + (
        [_leg("open", symbol, target_qty)] if target_qty else [])


def _leg(name: str, symbol: str, delta: int) -> Leg:
    return Leg(name=name, symbol=symbol, side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
               qty=abs(delta))
