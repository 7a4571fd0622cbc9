"""Figures, not tests: how much the council's fan-outs overlap, and how the LLM calls grow with the
PMs.

The offline week runs with every LLM and research call given an artificial latency (default 0.5 s).
The critical path is research + one pitch + one review + the chairman (4 latencies); the ratio
wall time / critical path is 1.0 when every fan-out runs fully in parallel. Figures for 4 and 12
PMs, and the number of LLM calls per week as a function of the number of PMs (each valid first
time).
Run: python bench/bench_council.py [--latency 0.5] [--pms 4 12]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from datetime import datetime
from pathlib import Path

from llmtrade.adapters.llm.offline import OfflineLLM
from llmtrade.adapters.research.offline import OfflineResearch
from llmtrade.config import Account, PMModel, Settings, load_settings
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.ports import LLMRequest, LLMResponse, ResearchStatus
from llmtrade.schemas import EventKind
from llmtrade.wiring import local_services
from llmtrade.workflow import WEEKLY

WEEK = "2026-11-25"


class SlowLLM(OfflineLLM):
    def __init__(self, latency: float) -> None:
        self.latency = latency

    def complete(self, request: LLMRequest) -> LLMResponse:
        time.sleep(self.latency)
        return super().complete(request)


class SlowResearch(OfflineResearch):
    def __init__(self, inner: OfflineResearch, latency: float) -> None:
        super().__init__(inner._market)
        self.latency = latency

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        time.sleep(self.latency)
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


def week(settings: Settings, latency: float) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as data:
        services = local_services(Path(data), settings)
        services = dataclasses.replace(services, llm=SlowLLM(latency),
                                       research=[SlowResearch(r, latency)
                                                 for r in services.research])
        started = time.perf_counter()
        run_workflow(WEEKLY, {"week_id": WEEK}, services)
        elapsed = time.perf_counter() - started
        calls = sum(1 for e in services.store.list_week(WEEK) if e.kind is EventKind.LLM_CALL)
    return elapsed, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--pms", type=int, nargs="+", default=[4, 12])
    args = parser.parse_args()
    settings = load_settings()
    critical = 4 * args.latency
    print(f"latency per call {args.latency:.2f} s; critical path (research + pitch + review + "
          f"chairman) {critical:.2f} s")
    for count in args.pms:
        elapsed, calls = week(with_pms(settings, count), args.latency)
        ratio = elapsed / critical
        print(f"{count:>3} PMs: wall {elapsed:6.2f} s, wall / critical path {ratio:5.2f}, "
              f"LLM calls {calls}")
    counts = []
    # measured (no latency): pitches + reviews + chairman, each valid first time
    for count in (2, 4, 8, 16):
        counts.append(f"{count} PMs: {week(with_pms(settings, count), 0.0)[1]}")
    print("LLM calls per week: " + ", ".join(counts) + " (2 x PMs + 1; a repair adds one)")

if __name__ == "__main__":
    main()
