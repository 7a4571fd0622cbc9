"""What each virtual account holds in a week, from the stored pitches and reviews (pure, no model
call). Benchmarks: SPY and the equal-weight universe at the PM accounts' average gross exposure,
and T-bill cash. Shadow councils: the PMs' majority vote, an equal-weight blend of every pitch, the
top peer-reviewed pitch and a seeded random PM. The legs go to `domain.virtual_book`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from statistics import fmean
from typing import Literal

from llmtrade.domain.virtual_book import Leg
from llmtrade.schemas import Pitch

VirtualKind = Literal["benchmark", "shadow"]
SPY = "SPY"
VIRTUAL_ACCOUNTS: dict[str, tuple[VirtualKind, str]] = {
    "bench-spy": ("benchmark", "SPY held at the PM accounts' average gross exposure"),
    "bench-universe": ("benchmark",
                       "every universe asset long, equal weight, at the PM accounts' average "
                       "gross exposure"),
    "bench-tbill": ("benchmark", "cash earning the configured T-bill rate"),
    "shadow-vote": ("shadow", "the PMs' majority vote: the trade at least two pitched (ties: "
                              "the better peer-reviewed), else FLAT"),
    "shadow-blend": ("shadow", "every pitch at an equal share of the risk budget"),
    "shadow-top": ("shadow", "the pitch with the best peer-review score"),
    "shadow-random": ("shadow", "a seeded random PM: a random asset, side and conviction"),
}


def _leg(pitch: Pitch, budget_usd: float, conviction: int | None = None) -> Leg:
    return Leg(symbol=pitch.instrument, conviction=pitch.conviction if conviction is None
               else conviction, budget_usd=budget_usd, indicators=tuple(pitch.indicators))


def vote(pitches: Sequence[Pitch], overall: Mapping[str, float], budget_usd: float) -> list[Leg]:
    """The trade most PMs pitched, if at least two did (a tie goes to the better mean peer
    score), at their mean conviction and with the best-scored voter's indicators."""
    voters: dict[tuple[str, str], list[Pitch]] = defaultdict(list)
    for pitch in pitches:
        voters[(pitch.instrument, pitch.direction.value)].append(pitch)

    def strength(group: list[Pitch]) -> tuple[int, float]:
        return len(group), fmean(overall.get(p.idea_id, 0.0) for p in group)

    if not voters or len(best := max(voters.values(), key=strength)) < 2:
        return []
    lead = max(best, key=lambda p: overall.get(p.idea_id, 0.0))
    size = round(fmean(abs(p.conviction) for p in best))
    conviction = size if lead.conviction > 0 else -size
    return [_leg(lead, budget_usd, conviction)] if conviction else []


def blend(pitches: Sequence[Pitch], budget_usd: float) -> list[Leg]:
    return [_leg(p, budget_usd / len(pitches)) for p in pitches if p.conviction]


def top(pitches: Sequence[Pitch], overall: Mapping[str, float], budget_usd: float) -> list[Leg]:
    if not pitches:
        return []
    best = max(pitches, key=lambda p: (overall.get(p.idea_id, 0.0), p.idea_id))
    return [_leg(best, budget_usd)] if best.conviction else []


def random_pm(symbols: Sequence[str], seed: int, week_id: str, budget_usd: float) -> list[Leg]:
    rng = random.Random(f"{seed}:{week_id}")
    return [Leg(symbol=rng.choice(sorted(symbols)), conviction=rng.choice([-2, -1, 1, 2]),
                budget_usd=budget_usd)]


def held_at_gross(symbols: Sequence[str], gross_usd: Decimal,
                  price: Callable[[str], Decimal]) -> list[Leg]:
    """Long legs of equal value adding up to `gross_usd` (whole shares, rounded down)."""
    if not symbols or gross_usd <= 0:
        return []
    share = gross_usd / len(symbols)
    return [Leg(symbol=s, shares=int((share / price(s)).to_integral_value(ROUND_DOWN)))
            for s in symbols]


def legs_of(account_id: str, pitches: Sequence[Pitch], overall: Mapping[str, float], *,
            symbols: Sequence[str], gross_usd: Decimal, budget_usd: float, seed: int,
            week_id: str, entry_price: Callable[[str], Decimal]) -> list[Leg]:
    """The legs of a virtual account this week (none: it holds cash)."""
    builders: dict[str, Callable[[], list[Leg]]] = {
        "bench-spy": lambda: held_at_gross([SPY] if SPY in symbols else [], gross_usd,
                                           entry_price),
        "bench-universe": lambda: held_at_gross(symbols, gross_usd, entry_price),
        "bench-tbill": list,
        "shadow-vote": lambda: vote(pitches, overall, budget_usd),
        "shadow-blend": lambda: blend(pitches, budget_usd),
        "shadow-top": lambda: top(pitches, overall, budget_usd),
        "shadow-random": lambda: random_pm(symbols, seed, week_id, budget_usd),
    }
    return builders[account_id]()
