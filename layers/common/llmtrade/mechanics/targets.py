"""What an account holds for the week: the target its pitch or the chairman's decision sets."""

from __future__ import annotations

from llmtrade.events import Week
from llmtrade.schemas import AccountKind, ChairmanDecision, ModelFailure, Pitch


def target_in(week: Week, week_id: str, account_id: str,
              kind: AccountKind) -> tuple[str | None, int, str]:
    """(instrument, conviction, note) an account holds for the week, from its pitch or decision."""
    if kind is AccountKind.FLAT:
        return None, 0, "baseline: never trades"
    stage = "pitch" if kind is AccountKind.PM else "chairman"
    if failure := week.get(ModelFailure, account_id, stage):
        return None, 0, f"FLAT: {failure.reason}"
    decided = (week.get(Pitch, account_id) if kind is AccountKind.PM
               else week.get(ChairmanDecision, account_id))
    if decided is None:
        raise LookupError(f"week {week_id}: no {stage} for {account_id} yet")
    instrument = (decided.instrument if isinstance(decided, Pitch)
                  else decided.selected_trade.instrument)
    return (instrument if decided.conviction else None), decided.conviction, ""

