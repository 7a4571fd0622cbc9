"""The general council (SPEC §6): any question through the three stages of karpathy's llm-council.

1. every PM model answers the question (in parallel);
2. every model that answered ranks the others' answers under neutral labels shuffled per reviewer,
   never seeing its own answer; the rankings are mapped back to models and averaged (mean position);
3. the chairman (its backup if it fails) writes the council's answer.

Calls go through `ask`, so they are validated, repaired and recorded exactly like the week's. They are
kept under a pseudo week `council-<hash of the question>`: the same event store and audit trail as a
week without a week's calendar, reproducible labels for the same question, an offline rerun that stores
nothing new, and a budget per question (the weekly budget caps what one question can ever spend) that
never eats into a trading week's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from llmtrade.config import Settings
from llmtrade.domain.reviews import label_map
from llmtrade.mechanics.model_calls import ModelFailed, ask
from llmtrade.ports import LLM, EventStore
from llmtrade.schemas import QAAnswer, QARanking, QASynthesis


@dataclass(frozen=True)
class CouncilContext:
    """What the general council needs: no market, broker or research."""

    settings: Settings
    store: EventStore
    llm: LLM
    offline: bool


class MemberAnswer(BaseModel):
    account_id: str
    model: str
    answered_by: str | None = None
    answer: QAAnswer | None = None
    error: str | None = None


class MemberRanking(BaseModel):
    reviewer: str  # the reviewing model
    labels: dict[str, str]  # label shown to the reviewer -> the model that wrote that answer
    ranking: list[str] = []  # models, best first
    reasoning: str | None = None
    error: str | None = None


class AggregateRank(BaseModel):
    model: str
    mean_position: float | None  # 1 is best; None when no reviewer ranked it
    rankings: int


class Synthesis(BaseModel):
    model: str | None = None  # the chairman that answered: the configured one or its backup
    answered_by: str | None = None
    answer: QASynthesis | None = None
    errors: list[str] = []


class CouncilResult(BaseModel):
    question: str
    run_id: str
    offline: bool
    answers: list[MemberAnswer]
    rankings: list[MemberRanking]
    aggregate: list[AggregateRank]
    synthesis: Synthesis


StageListener = Callable[[str, CouncilResult], None]


def run_id_of(question: str) -> str:
    return f"council-{hashlib.sha256(question.strip().encode()).hexdigest()[:12]}"


def _labels(models: list[str], seed: str) -> dict[str, str]:
    """`Response A`-style labels (shuffled per seed by domain.reviews.label_map) -> model."""
    return {f"Response {label.split()[-1]}": model for label, model in label_map(models, seed).items()}


def run_council(context: CouncilContext, question: str, on_stage: StageListener = lambda *_: None) -> CouncilResult:
    """Run the three stages; `on_stage(name, result so far)` is called as each completes. Model failures are
    part of the result (nothing raises for them); infrastructure errors raise."""
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    run_id = run_id_of(question)
    models = {a.id: context.settings.model_of(a.id) or "" for a in context.settings.pm_accounts}
    result = CouncilResult(question=question, run_id=run_id, offline=context.offline, answers=[], rankings=[],
                           aggregate=[], synthesis=Synthesis())

    def answer(account_id: str) -> MemberAnswer:
        member = MemberAnswer(account_id=account_id, model=models[account_id])
        try:
            reply, by = ask(context, week_id=run_id, account_id=account_id, purpose="qa-answer", model=member.model,
                            role="a council member", template="qa_answer", variables={"question": question},
                            answer=QAAnswer, system_template="qa_system")
        except ModelFailed as exc:
            return member.model_copy(update={"error": str(exc)})
        return member.model_copy(update={"answer": reply, "answered_by": by})

    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        result.answers = list(pool.map(answer, models))
    on_stage("answers", result)

    answered = {a.model: a.answer for a in result.answers if a.answer is not None}
    if len(answered) >= 3:  # each reviewer ranks at least two others
        def rank(reviewer: MemberAnswer) -> MemberRanking:
            labels = _labels([m for m in answered if m != reviewer.model], f"{run_id}:{reviewer.model}")
            ranked = _ranking_model(list(labels))
            made = MemberRanking(reviewer=reviewer.model, labels=labels)
            try:
                reply, _ = ask(context, week_id=run_id, account_id=reviewer.account_id, purpose="qa-rank",
                               model=reviewer.model, role="a council member reviewing the others", template="qa_rank",
                               answer=ranked, system_template="qa_system",
                               variables={"question": question, "answers": [
                                   {"label": label, "body": answered[model].model_dump(mode="json")}
                                   for label, model in labels.items()]})
            except ModelFailed as exc:
                return made.model_copy(update={"error": str(exc)})
            return made.model_copy(update={"ranking": [labels[label] for label in reply.ranking],
                                           "reasoning": reply.reasoning})

        with ThreadPoolExecutor(max_workers=len(answered)) as pool:
            result.rankings = list(pool.map(rank, [a for a in result.answers if a.answer is not None]))
    result.aggregate = _aggregate(list(answered), result.rankings)
    on_stage("rankings", result)

    result.synthesis = _synthesize(context, run_id, question, answered, result.aggregate)
    on_stage("synthesis", result)
    return result


def _ranking_model(labels: list[str]) -> type[QARanking]:
    """QARanking whose `ranking` lists exactly the labels shown (an enum in the schema the model gets)."""
    choice = Literal[tuple(labels)]  # type: ignore[valid-type]
    return create_model("QARanking", __base__=QARanking,  # type: ignore[call-overload,no-any-return]
                        ranking=(list[choice], Field(min_length=len(labels), max_length=len(labels))))


def _aggregate(models: list[str], rankings: list[MemberRanking]) -> list[AggregateRank]:
    """Mean position (1 is best) of each model's answer across the rankings it appears in; best first."""
    positions: dict[str, list[int]] = {model: [] for model in models}
    for ranking in rankings:
        for position, model in enumerate(ranking.ranking, start=1):
            positions[model].append(position)
    ranks = [AggregateRank(model=m, mean_position=round(fmean(p), 3) if p else None, rankings=len(p))
             for m, p in positions.items()]
    return sorted(ranks, key=lambda r: (r.mean_position is None, r.mean_position or 0.0, r.model))


def _synthesize(context: CouncilContext, run_id: str, question: str, answered: dict[str, QAAnswer],
                aggregate: list[AggregateRank]) -> Synthesis:
    if not answered:
        return Synthesis(errors=["no council member answered: nothing to synthesize"])
    labels = _labels(list(answered), f"{run_id}:chairman")
    mean_rank = {r.model: r.mean_position for r in aggregate}
    variables: dict[str, Any] = {"question": question, "answers": [
        {"label": label, "body": answered[model].model_dump(mode="json"), "mean_rank": mean_rank.get(model)}
        for label, model in labels.items()]}
    chairman = context.settings.models.chairman
    errors = []
    for model, purpose in ((chairman.openrouter_model, "qa-chairman"),
                           (chairman.backup_openrouter_model, "qa-chairman-backup")):
        if model is None:
            continue
        try:
            reply, by = ask(context, week_id=run_id, account_id=context.settings.council_account.id, purpose=purpose,
                            model=model, role="the chairman of the council", template="qa_chairman",
                            variables=variables, answer=QASynthesis, system_template="qa_system")
        except ModelFailed as exc:
            errors.append(f"{'backup ' if purpose.endswith('backup') else ''}chairman {model}: {exc}")
            continue
        return Synthesis(model=model, answered_by=by, answer=reply, errors=errors)
    return Synthesis(errors=errors)
