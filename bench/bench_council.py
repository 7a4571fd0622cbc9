"""Figures, not tests: how much the council's fan-outs overlap, and how the LLM calls grow with the
PMs.

The offline week runs with every LLM and research call given an artificial latency (default 0.5 s).
The critical path is the longest chain of dependent work, measured: each task's own cost is the
latency it waits out plus the CPU time its thread spends (time.thread_time: waiting for the GIL, a
lock or the disk is not counted); a fan-out costs its dearest item, every other step (a poll's
start and each check too) its own cost, and the path is their sum. So the critical path is a lower
bound, and wall / critical path is 1.0 only when every fan-out runs fully in parallel and nothing
waits on anything else (SQLite's fsync per append, taken under the store's lock, shows here). The
latency chain (research + pitch + review + chairman, 4 latencies) is printed beside it: it leaves
out the work the steps really do in sequence (e.g. the first import of each step's modules, the
simulated market's walk to the week). Figures for 4 and 12 PMs (the 4-PM week runs first, in a
fresh process), and the number of LLM calls per week as a function of the number of PMs (each valid
first time).
Run: python bench/bench_council.py [--latency 0.5] [--pms 4 12]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from llmtrade.adapters.llm.offline import OfflineLLM
from llmtrade.adapters.research.offline import OfflineResearch
from llmtrade.config import Account, PMModel, Settings, load_settings
from llmtrade.entrypoints import runner
from llmtrade.ports import LLMRequest, LLMResponse
from llmtrade.schemas import EventKind, ResearchStatus
from llmtrade.services import Services
from llmtrade.wiring import local_services
from llmtrade.workflow import WEEKLY, FanOut, Function

_waited = threading.local()  # the latency the current task has waited out


def wait(latency: float) -> None:
    time.sleep(latency)
    _waited.seconds = getattr(_waited, "seconds", 0.0) + latency


WEEK = "2026-11-25"


class SlowLLM(OfflineLLM):
    def __init__(self, latency: float) -> None:
        self.latency = latency

    def complete(self, request: LLMRequest) -> LLMResponse:
        wait(self.latency)
        return super().complete(request)


class SlowResearch(OfflineResearch):
    def __init__(self, inner: OfflineResearch, latency: float) -> None:
        super().__init__(inner._market)
        self.latency = latency

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        wait(self.latency)
        return super().start(week_id, asof)


def with_pms(settings: Settings, count: int) -> Settings:
    base = settings.models.pms
    pms = [PMModel(id=f"pm{i}", name=f"PM {i}",
                   openrouter_model=base[i % len(base)].openrouter_model + f"-{i}")
           for i in range(count)]
    accounts = [Account(id=f"pm-{i}", kind="pm", pm=f"pm{i}", key_env=f"ALPACA_PM_{i}")
                for i in range(count)]
    accounts += [a for a in settings.accounts.accounts if a.kind != "pm"]
    return Settings(assets=settings.assets, schedule=settings.schedule, risk=settings.risk,
                    models=settings.models.model_copy(update={"pms": pms, "quorum": min(3, count)}),
                    accounts=settings.accounts.model_copy(update={"accounts": accounts}))


@contextmanager
def task_costs() -> Iterator[list[tuple[str, float]]]:
    """(action, cost) of every task the runner runs: latency waited out + its thread's CPU time."""
    costs: list[tuple[str, float]] = []
    handle = runner.handle

    def measured(function: Function, payload: dict[str, Any],
                 services: Services) -> dict[str, Any]:
        _waited.seconds, cpu = 0.0, time.thread_time()
        try:
            return handle(function, payload, services)
        finally:
            costs.append((payload["action"], time.thread_time() - cpu + _waited.seconds))

    with mock.patch.object(runner, "handle", measured):
        yield costs


def critical_path(costs: list[tuple[str, float]]) -> float:
    fanned = {s.task.name for s in WEEKLY.steps if isinstance(s, FanOut)}
    per_action: dict[str, list[float]] = defaultdict(list)
    for action, cost in costs:
        per_action[action].append(cost)
    return sum(max(c) if action in fanned else sum(c) for action, c in per_action.items())


def week(settings: Settings, latency: float) -> tuple[float, float, int]:
    """Wall time, critical path, LLM calls."""
    with tempfile.TemporaryDirectory() as data, task_costs() as costs:
        services = local_services(Path(data), settings)
        services = dataclasses.replace(services, llm=SlowLLM(latency),
                                       research=[SlowResearch(r, latency)
                                                 for r in services.research])
        started = time.perf_counter()
        runner.run_workflow(WEEKLY, {"week_id": WEEK}, services)
        elapsed = time.perf_counter() - started
        calls = sum(1 for e in services.store.list_week(WEEK) if e.kind is EventKind.LLM_CALL)
    return elapsed, critical_path(costs), calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--pms", type=int, nargs="+", default=[4, 12])
    args = parser.parse_args()
    settings = load_settings()
    chain = 4 * args.latency
    print(f"latency per call {args.latency:.2f} s; latency chain (research + pitch + review + "
          f"chairman) {chain:.2f} s")
    for count in args.pms:
        elapsed, critical, calls = week(with_pms(settings, count), args.latency)
        print(f"{count:>3} PMs: wall {elapsed:6.2f} s, critical path {critical:5.2f} s, "
              f"wall / critical path {elapsed / critical:5.2f}, wall / latency chain "
              f"{elapsed / chain:5.2f}, LLM calls {calls}")
    counts = []
    # measured (no latency): pitches + reviews + chairman, each valid first time
    for count in (2, 4, 8, 16):
        counts.append(f"{count} PMs: {week(with_pms(settings, count), 0.0)[2]}")
    print("LLM calls per week: " + ", ".join(counts) + " (2 x PMs + 1; a repair adds one)")


if __name__ == "__main__":
    main()
