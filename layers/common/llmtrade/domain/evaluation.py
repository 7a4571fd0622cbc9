"""What the leaderboard may claim: paired comparisons, corrected for their number, and a verdict
in plain words (pure).

Every contender (a PM, the council, a shadow; benchmarks are references, not contenders) is
compared with FLAT and with SPY buy-and-hold (when that benchmark was kept), and the council also
with its best single PM and with the PMs' majority vote: paired t-tests of the
weekly decision returns over the weeks both rows have, their p-values corrected together (Holm).
A row is called better or worse only when its corrected p-value is below 5 %; when none is, the
verdict says nothing is distinguishable, and how many weeks a given edge would need at the spread
observed. One board holds either offline or live weeks, never both, and no late week (its
research was produced after the week's moment + grace: it could hold later news): the weeks left
out are listed with why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import median

from pydantic import BaseModel, ConfigDict

from llmtrade.domain.calibration import Calibration
from llmtrade.domain.leaderboard import (
    COUNCIL,
    FLAT,
    LeaderboardRow,
    Outcome,
    rows_of,
)
from llmtrade.domain.statistics import holm, paired_test, weeks_needed

ALPHA = 0.05
SPY_BENCHMARK = "bench-spy"
VOTE_SHADOW = "shadow-vote"
EDGE = 0.002  # the weekly edge the verdict prices in weeks: 0.2 % a week, about 10 % a year
LATE = "late: research produced after the week's as-of + grace"


class Comparison(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    against: str
    weeks: int
    mean_difference: float | None  # mean weekly decision return, name minus against
    ci95: list[float] | None
    p_value: float | None
    p_holm: float | None  # corrected over every comparison of the board
    significant: bool


class Board(BaseModel):
    """`llmtrade leaderboard --json`: scripts rely on offline, weeks, verdict and rows."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    offline: bool
    weeks: int
    verdict: str
    rows: list[LeaderboardRow]
    comparisons: list[Comparison]
    excluded_weeks: int  # settled weeks left out: of the other kind (never pooled), or late
    excluded: dict[str, str] = {}  # week id -> why it was left out
    calibration: Calibration = Calibration()

    @property
    def exclusions(self) -> list[str]:
        """Why weeks were left out, one line per reason, naming its weeks."""
        weeks: dict[str, list[str]] = {}
        for week_id, why in sorted(self.excluded.items()):
            weeks.setdefault(why, []).append(week_id)
        return [f"{len(w)} week(s) left out, {why} ({', '.join(w)})" for why, w in weeks.items()]


CONTENDERS = ("pm", "council", "shadow")


def _best_pm(rows: list[LeaderboardRow]) -> str | None:
    pms = [r for r in rows if r.kind == "pm" and r.mean_weekly_return is not None]
    return max(pms, key=lambda r: r.mean_weekly_return or 0.0).name if pms else None


def _council_pairs(rows: list[LeaderboardRow], names: set[str],
                   vote: str | None) -> list[tuple[str, str]]:
    if COUNCIL not in names:
        return []
    pairs = []
    best = _best_pm(rows)
    if best is not None:
        pairs.append((COUNCIL, best))
    if vote in names:
        pairs.append((COUNCIL, vote))
    return pairs


def _pairs(rows: list[LeaderboardRow], groups: Mapping[str, str]) -> list[tuple[str, str]]:
    """(row, reference) names to compare: each row with FLAT and SPY, the council with its best
    PM and the majority vote."""
    names = {r.name for r in rows}
    contenders = [r for r in rows if r.kind in CONTENDERS]
    references = (FLAT, groups.get(SPY_BENCHMARK))
    pairs = [(r.name, ref) for r in contenders for ref in references if ref in names]
    return pairs + _council_pairs(rows, names, groups.get(VOTE_SHADOW))


def _compare(name: str, against: str, returns: Mapping[str, Mapping[str, float]],
             ) -> tuple[Comparison, float | None]:
    common = sorted(set(returns[name]) & set(returns[against]))
    test = paired_test([returns[name][w] for w in common], [returns[against][w] for w in common])
    interval = test.difference
    return Comparison(
        name=name, against=against, weeks=test.n,
        mean_difference=interval.estimate if interval else None,
        ci95=[interval.low, interval.high] if interval and test.spread else None,
        p_value=test.p_value, p_holm=None, significant=False), test.spread


def _returns_by_name(outcomes: Iterable[Outcome], names: Mapping[str, str],
                     ) -> dict[str, dict[str, float]]:
    """Each row's weekly decision returns by week id."""
    returns: dict[str, dict[str, float]] = {}
    for o in outcomes:
        returns.setdefault(names.get(o.group, o.group), {})[o.week_id] = o.decision_return
    return returns


def _holm_corrected(comparisons: list[Comparison]) -> list[Comparison]:
    tested = [i for i, c in enumerate(comparisons) if c.p_value is not None]
    adjusted = dict(zip(tested, holm([comparisons[i].p_value or 0.0 for i in tested]),
                        strict=True))
    return [c.model_copy(update={"p_holm": adjusted.get(i),
                                 "significant": adjusted.get(i, 1.0) < ALPHA})
            for i, c in enumerate(comparisons)]


def compare(rows: list[LeaderboardRow], outcomes: Iterable[Outcome],
            names: Mapping[str, str]) -> tuple[list[Comparison], list[float]]:
    """The board's comparisons with Holm-corrected p-values, and the spreads of their weekly
    differences."""
    returns = _returns_by_name(outcomes, names)
    groups = {o.group: names.get(o.group, o.group) for o in outcomes}
    done = [_compare(a, b, returns) for a, b in _pairs(rows, groups)]
    return _holm_corrected([c for c, _ in done]), [s for _, s in done if s]


def _finding(c: Comparison) -> str:
    direction = "above" if (c.mean_difference or 0) > 0 else "below"
    return (f"{c.name} {direction} {c.against} by {(c.mean_difference or 0) * 100:+.2f} % a week "
            f"(corrected p = {c.p_holm:.3f})")


def _price_of_edge(spreads: list[float]) -> str:
    """How many weeks the EDGE would need to show at the median spread; "" without a spread."""
    needed = weeks_needed(EDGE, median(spreads)) if spreads else None
    if not needed:
        return ""
    return (f" At the observed spread of weekly differences ({median(spreads) * 100:.2f} % a "
            f"week), a true edge of {EDGE * 100:.1f} % a week (about 10 % a year) would need "
            f"about {needed} weeks to show.")


def verdict(comparisons: list[Comparison], spreads: list[float], weeks: int,
            offline: bool) -> str:
    mode = "offline (simulated)" if offline else "live"
    if weeks == 0:
        return "No settled week yet."
    found = [c for c in comparisons if c.significant]
    if found:
        said = "; ".join(_finding(c) for c in found)
        return (f"Over {weeks} {mode} week(s), after Holm correction for {len(comparisons)} "
                f"comparisons: {said}. No other difference is distinguishable from noise.")
    return (f"Nothing is distinguishable over {weeks} {mode} week(s): after Holm correction for "
            f"{len(comparisons)} comparisons, no row's mean weekly decision return differs from "
            f"FLAT or SPY buy-and-hold (or the council from its best PM or the vote) at the 5 % "
            f"level, so the order of the table is noise.{_price_of_edge(spreads)}")


def evaluate(outcomes: Iterable[Outcome], names: Mapping[str, str] | None = None, *,
             offline: bool, excluded: Mapping[str, str] | None = None,
             calibration: Calibration | None = None) -> Board:
    """The board of one kind of weeks (offline or live): rows, comparisons and the verdict."""
    outcomes = list({(o.week_id, o.account_id): o for o in outcomes}.values())
    names = names or {}
    rows = rows_of(outcomes, names)
    comparisons, spreads = compare(rows, outcomes, names)
    weeks = len({o.week_id for o in outcomes})
    return Board(offline=offline, weeks=weeks, rows=rows, comparisons=comparisons,
                 verdict=verdict(comparisons, spreads, weeks, offline),
                 excluded_weeks=len(excluded or {}), excluded=dict(excluded or {}),
                 calibration=calibration or Calibration())
