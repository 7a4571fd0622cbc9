"""The checkpoint decision: one pure function of what a checkpoint sees (SPEC §4).

The rules, in order (`decide`): a flat account STAYs; a protective stop of the decision in force
that filled at the broker EXITs (the position is over: the record says so, at conviction 0);
while the previous week's opposite position is still closing it STAYs (that P/L is not this
trade's); a `flips` indicator that fired FLIPs to the other side at conviction 1, or EXITs when
the short side cannot be borrowed; an `invalidates` indicator that fired EXITs; a loss past the
stop EXITs; a loss past the reduce level with nothing confirming REDUCEs one step (from |2| to
|1|); else STAY. After a flip the frozen indicators retire (they state the thesis flipped away
from: its `invalidates` would undo the flip, its `confirms` would argue for the other side, its
`flips` would flip back): the flipped position is managed by the stop and REDUCE alone. P/L is
this week's (`domain.week_pl`): carried shares count from the week's entry mark, never from the
broker's lifetime average entry. No I/O: the step gathers the facts, records the decision and
enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmtrade.schemas import (
    CheckpointAction,
    CheckpointInputs,
    CheckpointUpdate,
    IndicatorReading,
    Position,
)

FLAT_REASON = "flat: nothing to manage"
WAITING_REASON = "waiting for the opposite position to close"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CheckpointFacts:
    """What a checkpoint decides from: the conviction in force, frozen indicators read now, P/L."""

    conviction: int  # in force now: the latest earlier checkpoint's, else the week's
    weekly_conviction: int  # what the weekly run set (its sign tells whether a flip happened since)
    instrument: str | None
    readings: tuple[IndicatorReading, ...]
    position: Position | None  # the broker's position in `instrument`, if any
    # this week's average cost per share held (domain.week_pl), never the lifetime average entry
    week_entry_price: Decimal
    # shortable and easy to borrow; None: not asked (only a long flips short)
    short_borrowable: bool | None
    stop_loss_pct: float
    reduce_loss_pct: float
    # the fill price of the decision's protective stop when it filled at the broker, else None
    stopped_out_at: Decimal | None = None

    @property
    def unrealized_pl(self) -> Decimal:
        """This week's P/L of the position: its marked value against this week's cost."""
        if self.position is None:
            return Decimal(0)
        return (self.position.market_value
                - self.position.qty * self.week_entry_price).quantize(CENT)

    @property
    def pl_pct(self) -> float:
        """This week's P/L as % of the position's cost this week (0 when nothing is held)."""
        cost = abs(self.position.qty * self.week_entry_price) if self.position else Decimal(0)
        return float(self.unrealized_pl / cost * 100) if cost else 0.0

    @property
    def flipped(self) -> bool:
        """The conviction in force is on the other side of the week's: a checkpoint flipped it."""
        return flipped(self.conviction, self.weekly_conviction)


def inputs_of(facts: CheckpointFacts) -> CheckpointInputs:
    """What a checkpoint records beside its conviction before and readings, so that
    `recorded_facts` rebuilds these facts."""
    return CheckpointInputs(weekly_conviction=facts.weekly_conviction,
                            instrument=facts.instrument, position=facts.position,
                            week_entry_price=facts.week_entry_price,
                            short_borrowable=facts.short_borrowable,
                            stop_loss_pct=facts.stop_loss_pct,
                            reduce_loss_pct=facts.reduce_loss_pct)


def recorded_facts(update: CheckpointUpdate) -> CheckpointFacts | None:
    """The facts a recorded checkpoint decided from; None when it did not record its inputs."""
    inputs = update.inputs
    if inputs is None:
        return None
    return CheckpointFacts(conviction=update.conviction_before,
                           weekly_conviction=inputs.weekly_conviction,
                           instrument=inputs.instrument, readings=tuple(update.indicators),
                           position=inputs.position, week_entry_price=inputs.week_entry_price,
                           short_borrowable=inputs.short_borrowable,
                           stop_loss_pct=inputs.stop_loss_pct,
                           reduce_loss_pct=inputs.reduce_loss_pct)


def flipped(conviction: int, weekly_conviction: int) -> bool:
    """Whether a checkpoint flipped the week's side (then the frozen indicators have retired)."""
    return conviction * weekly_conviction < 0


@dataclass(frozen=True)
class Decision:
    action: CheckpointAction
    conviction_after: int
    reason: str
    # the P/L this trade counts (not a closing opposite position's)
    unrealized_pl: Decimal = Decimal(0)


def decide(facts: CheckpointFacts) -> Decision:
    """The checkpoint's action, conviction after and reason (rules: module docstring)."""
    if facts.conviction and facts.stopped_out_at is not None:
        return Decision(CheckpointAction.EXIT, 0,
                        f"stopped out at the broker at {facts.stopped_out_at}",
                        facts.unrealized_pl)
    if facts.conviction and _closing_opposite(facts):
        return Decision(CheckpointAction.STAY, facts.conviction, WAITING_REASON)
    action, after, reason = _by_rules(facts)
    return Decision(action, after, reason, facts.unrealized_pl)


def _closing_opposite(facts: CheckpointFacts) -> bool:
    return facts.position is not None and (facts.position.qty > 0) != (facts.conviction > 0)


def _by_rules(facts: CheckpointFacts) -> tuple[CheckpointAction, int, str]:
    conviction = facts.conviction
    if conviction == 0:
        return CheckpointAction.STAY, 0, FLAT_REASON
    if flipping := _fired(facts, "flips"):
        return _flip(facts, flipping)
    if invalidating := _fired(facts, "invalidates"):
        return CheckpointAction.EXIT, 0, f"invalidated by {', '.join(invalidating)}"
    pl_pct = facts.pl_pct
    if pl_pct <= -facts.stop_loss_pct:
        return CheckpointAction.EXIT, 0, f"stop loss: {pl_pct:.2f}% <= -{facts.stop_loss_pct}%"
    confirming = _fired(facts, "confirms")
    if pl_pct <= -facts.reduce_loss_pct and not confirming and abs(conviction) > 1:
        return CheckpointAction.REDUCE, _one_step_toward_flat(conviction), \
            f"losing {pl_pct:.2f}% with no confirming indicator"
    held_by = ("flipped: the thesis's indicators retired" if facts.flipped
               else f"{len(confirming)} confirming indicator(s)")
    return CheckpointAction.STAY, conviction, f"{held_by}, P/L {pl_pct:.2f}%"


def _fired(facts: CheckpointFacts, role: str) -> list[str]:
    """Names of the fired indicators of a role; none after a flip (they retired with the thesis)."""
    if facts.flipped:
        return []
    return [r.indicator.name for r in facts.readings if r.fired and r.indicator.role == role]


def _flip(facts: CheckpointFacts, flipping: list[str]) -> tuple[CheckpointAction, int, str]:
    after = -1 if facts.conviction > 0 else 1
    reason = f"flip condition met: {', '.join(flipping)}"
    if after < 0 and facts.instrument is not None and not facts.short_borrowable:
        # the short side cannot be held: exit instead
        return CheckpointAction.EXIT, 0, \
            f"{reason}; {facts.instrument} is not easy to borrow, so EXIT instead of a short"
    return CheckpointAction.FLIP, after, reason


def _one_step_toward_flat(conviction: int) -> int:
    return conviction - (1 if conviction > 0 else -1)
