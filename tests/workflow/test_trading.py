"""Trading behaviour checked on the broker's own state, not only on event counts (issue 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmtrade.domain.calendar import ET
from llmtrade.runner import run_workflow
from llmtrade.schemas import EventKind
from llmtrade.services import Services
from llmtrade.workflow import CHECKPOINT, WEEKLY

from tests.conftest import WEEK


def broker_state(services: Services, at: datetime) -> dict[str, Any]:
    """Everything the broker holds for every trading account at a moment: positions, open orders, cash."""
    broker = services.broker_at(at)
    state = {}
    for account in services.settings.trading_accounts:
        state[account.id] = (
            sorted((p.symbol, p.qty) for p in broker.positions(account.id)),
            sorted((o.client_order_id, o.status, o.qty) for o in broker.open_orders(account.id)),
            broker.account(account.id).cash,
        )
    return state


def checkpoint(services: Services, when: str) -> dict[str, Any]:
    return run_workflow(CHECKPOINT, {"at": datetime.fromisoformat(when).replace(tzinfo=ET).isoformat()}, services)


def test_rerunning_a_checkpoint_leaves_the_broker_as_the_first_run_did(services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    checkpoint(services, "2026-11-30 09:00")
    updates = [e.parsed() for e in services.store.list_week(WEEK) if e.kind is EventKind.CHECKPOINT_UPDATE]
    assert any(u.action.value in ("REDUCE", "EXIT") for u in updates), "the scenario needs an order to place"
    moment = datetime(2026, 11, 30, 9, 1, tzinfo=ET)
    first = broker_state(services, moment)
    checkpoint(services, "2026-11-30 09:00")
    assert broker_state(services, moment) == first
    # and once the market opens, every account holds what its recorded conviction says
    after_open = datetime(2026, 11, 30, 9, 45, tzinfo=ET)
    held = broker_state(services, after_open)
    for update in updates:
        positions = held[update.account_id][0]
        if update.conviction_after == 0:
            assert positions == [] or all(q == 0 for _, q in positions)
        else:
            assert positions and (positions[0][1] > 0) == (update.conviction_after > 0)
