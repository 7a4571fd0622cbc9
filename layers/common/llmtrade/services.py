"""The ports a step works with: one bag, built by `llmtrade.wiring` for a local run or a Lambda."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from llmtrade.config import Settings
from llmtrade.environment import KillSwitch, MetricSink, NoMetrics, env_kill_switch
from llmtrade.events import EventLog
from llmtrade.ports import LLM, Broker, EventStore, MarketData, ResearchProvider


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: EventStore
    llm: LLM
    research: list[ResearchProvider]
    market: MarketData
    # the broker as seen at a moment (the simulator needs a clock)
    broker_at: Callable[[datetime], Broker]
    offline: bool
    # Why a run at that moment cannot trade (the simulator cannot go back past its orders), or None
    replay_conflict: Callable[[datetime], str | None] = lambda moment: None
    kill_switch: KillSwitch = env_kill_switch  # why runs are disabled now, or None
    metrics: MetricSink = field(default_factory=NoMetrics)
    # the real time: a live run refuses a moment past its grace; a live pack records when it came
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # waiting inside a step (for a fill): real time live; offline no time at all, the simulator's
    # time being the moment given to broker_at
    sleep: Callable[[float], None] = time.sleep

    @cached_property
    def events(self) -> EventLog:
        """The event store read and written by intent (llmtrade.events): one log per services, so
        its chain heads and validated payloads serve every step run with them."""
        return EventLog(self.store)


class NotWired:
    """A port this function was not given (each function builds only what it needs): any use names
    it."""

    def __init__(self, port: str, needs: Collection[str]) -> None:
        self._why = f"{port} is not wired in a function that needs only {', '.join(sorted(needs))}"

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(self._why)

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError(self._why)
