"""`llmtrade run-week --estimate`: a weekly run's calls and what they cost, from the config and
its price table (config/prices.yaml, dated): nothing is called or written."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

from llmtrade.config import Settings, load_settings
from llmtrade.config.prices import PricesConfig, load_prices
from llmtrade.entrypoints.cli.common import table


def _stage_models(settings: Settings) -> dict[str, list[str]]:
    """The model each call of a stage asks (pitches and reviews: every PM's)."""
    pms = [pm.openrouter_model for pm in settings.models.pms]
    chairman = settings.models.chairman
    stages = {"pitches": pms, "reviews": pms, "chairman": [chairman.openrouter_model]}
    if chairman.backup_openrouter_model:
        stages["backup chairman"] = [chairman.backup_openrouter_model]
    return stages


def _priced(value: float | None, fallback: Decimal) -> Decimal:
    return fallback if value is None else Decimal(str(round(value, 6)))


def estimate_document(settings: Settings, prices: PricesConfig | None, week_id: str,
                      offline: bool) -> dict[str, Any]:
    """The estimate: per stage the calls (first time valid / at most) and their cost, per research
    provider its run's cost; offline everything is free."""
    from llmtrade.steps.council import estimate_calls

    fallback = Decimal(0) if offline else Decimal(str(settings.models.budget.call_estimate_usd))
    per_model = _stage_models(settings)
    def call_usd(model: str) -> float | None:
        return None if prices is None else prices.call_usd(model)

    unpriced = {m for ms in per_model.values() for m in ms
                if not offline and call_usd(m) is None}
    stages: list[dict[str, Any]] = []
    for s in estimate_calls(settings):
        models = per_model[s.stage]
        # a round asks every model of the stage once; a repair attempt is another round
        one_round = sum((Decimal(0) if offline else _priced(call_usd(m), fallback)
                         for m in models), Decimal(0))
        stages.append({**s.model_dump(), "models": models,
                       "expected_usd": str(one_round * s.calls / len(models)),
                       "at_most_usd": str(one_round * s.at_most / len(models))})
    research: list[dict[str, Any]] = []
    for p in settings.models.research_providers:
        cost = None if offline or prices is None else prices.research_per_call_usd.get(p.id)
        unpriced |= {p.id} if cost is None and not offline else set()
        research.append({"provider": p.id, "fallback": p.fallback,
                         "usd": "0" if offline else (str(cost) if cost is not None else None)})
    llm_expected = sum((Decimal(s["expected_usd"]) for s in stages), Decimal(0))
    research_expected = sum((Decimal(r["usd"] or 0) for r in research if not r["fallback"]),
                            Decimal(0))
    return {"week_id": week_id, "offline": offline,
            "prices_as_of": None if prices is None else prices.as_of.isoformat(),
            "stages": stages, "research": research,
            "calls": sum(s["calls"] for s in stages), "at_most": sum(s["at_most"] for s in stages),
            "llm_expected_usd": str(llm_expected),
            "llm_at_most_usd": str(sum((Decimal(s["at_most_usd"]) for s in stages), Decimal(0))),
            "research_expected_usd": str(research_expected),
            "expected_usd": str(llm_expected + research_expected),
            "unpriced": sorted(unpriced), "call_estimate_usd": str(fallback),
            "weekly_budget_usd": str(Decimal(str(settings.models.budget.weekly_usd)))}


def _money(text: str | None) -> str:
    return "?" if text is None else f"{Decimal(text):.2f}"


def estimate_week(args: argparse.Namespace, week_id: str) -> int:
    settings = load_settings(args.config_dir)
    prices = load_prices(args.config_dir)
    document = estimate_document(settings, prices, week_id, args.offline)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    source = ("offline models and research cost nothing" if args.offline
              else f"published prices as of {document['prices_as_of']} (config/prices.yaml)"
              if prices else "no config/prices.yaml: every call at the budget's call_estimate_usd")
    print(f"Week {week_id}: expected calls and cost, {source}")
    rows = [["stage", "calls", "at most", "expected $", "at most $"]]
    rows += [[s["stage"], str(s["calls"]), str(s["at_most"]), _money(s["expected_usd"]),
              _money(s["at_most_usd"])] for s in document["stages"]]
    rows += [[f"research: {r['provider']}" + (" (fallback)" if r["fallback"] else ""),
              "0" if r["fallback"] else "1", "1", "0.00" if r["fallback"] else _money(r["usd"]),
              _money(r["usd"])] for r in document["research"]]
    runs = sum(1 for r in document["research"] if not r["fallback"])
    rows.append(["total", str(document["calls"] + runs),
                 str(document["at_most"] + len(document["research"])),
                 _money(document["expected_usd"]), ""])
    print(table(rows))
    if document["unpriced"]:
        print(f"Not in the price table: {', '.join(document['unpriced'])} "
              f"(models at ${document['call_estimate_usd']} a call; research unknown).")
    budget = Decimal(document["weekly_budget_usd"])
    print(f"'at most' counts every repair attempt and the backup chairman. Weekly LLM budget: "
          f"${budget:.2f}; a call that would pass it is refused and its model goes FLAT.")
    if Decimal(document["llm_at_most_usd"]) > budget:
        print("WARNING: at most, the run would pass the weekly budget: the calls past it would be "
              "refused.")
    print("Nothing was called or written.")
    return 0
