"""`llmtrade council "question"`: any question to the council, answered in three stages as they
complete."""

from __future__ import annotations

import argparse
import json

from llmtrade.config import load_settings
from llmtrade.entrypoints.cli.common import UsageError
from llmtrade.ports import LLM
from llmtrade.steps.council_qa import CouncilContext, CouncilResult, run_council


def _council_llm(args: argparse.Namespace) -> LLM:
    """The models the council command asks: offline ones, or OpenRouter with OPENROUTER_API_KEY
    alone."""
    if args.offline:
        from llmtrade.adapters.llm.offline import OfflineLLM

        return OfflineLLM()
    from llmtrade.adapters.llm.openrouter import KEY_NAME, OpenRouterLLM
    from llmtrade.adapters.store.secrets import EnvSecrets

    if not (key := EnvSecrets().get(KEY_NAME)):
        raise UsageError(f"the council needs {KEY_NAME} (in the environment or .env), "
                         "or --offline to try it with the offline models")
    return OpenRouterLLM(api_key=key)


def _print_answers(result: CouncilResult) -> None:
    print(f"Question: {result.question}"
          + ("  (OFFLINE: offline models)" if result.offline else ""))
    print("\n== Stage 1: answers")
    for member in result.answers:
        if member.answer is None:
            print(f"\n-- {member.model}: FAILED: {member.error}")
            continue
        print(f"\n-- {member.model} (answered by {member.answered_by})\n{member.answer.answer}")
        print("\n".join(f"  * {point}" for point in member.answer.key_points))


def _print_rankings(result: CouncilResult) -> None:
    print("\n== Stage 2: anonymous rankings (labels shuffled per reviewer, mapped back to models)")
    if not result.rankings:
        print("skipped: fewer than three answers to rank")
    for ranking in result.rankings:
        if ranking.error:
            print(f"\n-- {ranking.reviewer}: FAILED: {ranking.error}")
            continue
        label_of = {model: label for label, model in ranking.labels.items()}
        print(f"\n-- {ranking.reviewer} ranked:")
        print("\n".join(f"  {i}. {model} ({label_of[model]})"
                        for i, model in enumerate(ranking.ranking, 1)))
        print(f"  why: {ranking.reasoning}")
    print("\nAggregate ranking (mean position, 1 is best):")
    for i, rank in enumerate(result.aggregate, 1):
        mean = f"{rank.mean_position:.2f}" if rank.mean_position is not None else "-"
        print(f"  {i}. {rank.model}  {mean}  "
              f"({rank.rankings} ranking{'s' if rank.rankings != 1 else ''})")


def _print_synthesis(result: CouncilResult) -> None:
    synthesis = result.synthesis
    print("\n== Stage 3: chairman")
    for error in synthesis.errors:
        print(f"FAILED: {error}")
    if synthesis.answer is not None:
        print(f"-- {synthesis.model} (answered by {synthesis.answered_by})\n"
              f"{synthesis.answer.answer}")
        print(f"\nConsensus: {synthesis.answer.consensus}\nDissent: {synthesis.answer.dissent}")


def _print_stage(stage: str, result: CouncilResult) -> None:
    printers = {"answers": _print_answers, "rankings": _print_rankings}
    printers.get(stage, _print_synthesis)(result)


def council(args: argparse.Namespace) -> int:
    """`llmtrade council "question"`: answers, anonymous rankings and the chairman's synthesis
    (SPEC §6)."""
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.mechanics.model_calls import spent_this_week

    settings = load_settings(args.config_dir)
    llm = _council_llm(args)
    # the Q&A's own store: a week id in events.sqlite is always a week
    path = args.data_dir / "council.sqlite"
    store = SqliteEventStore(path)
    context = CouncilContext(settings=settings, store=store, llm=llm, offline=args.offline)
    try:
        result = run_council(context, args.question,
                             on_stage=(lambda *_: None) if args.json else _print_stage)
        spent = spent_this_week(context.events, result.run_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    if args.json:
        print(json.dumps({**result.model_dump(mode="json"), "recorded_cost_usd": str(spent)},
                         indent=2))
    else:
        print(f"\nEvery call is recorded under {result.run_id} in {path} "
              f"(${spent:.4f} spent on this question so far).")
    return 0 if result.synthesis.answer is not None else 1
