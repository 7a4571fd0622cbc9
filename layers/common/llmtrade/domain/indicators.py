"""Evaluating frozen, machine-checkable indicators against prices (SPEC §3.3, §4)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal

from llmtrade.schemas import Indicator, IndicatorReading

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


def measure(indicator: Indicator, price_now: Decimal, price_at_week_open: Decimal) -> float:
    if indicator.measure == "price":
        return float(price_now)
    return float((price_now / price_at_week_open - 1) * 100)


def read(indicator: Indicator, price_now: Decimal, price_at_week_open: Decimal) -> IndicatorReading:
    value = round(measure(indicator, price_now, price_at_week_open), 4)
    return IndicatorReading(
        indicator=indicator, value=value,
        fired=COMPARISONS[indicator.comparison](value, indicator.threshold)
    )
