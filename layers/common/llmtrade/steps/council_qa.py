"""The general council (SPEC §6): any question through the three stages of karpathy's llm-council.

1. every PM member answers the question (in parallel);
2. every member that answered ranks the others' answers under neutral labels shuffled per reviewer,
   never seeing its own answer; the rankings are mapped back to members and averaged (mean
   position);
3. the chairman (its backup if it fails) writes the council's answer.

Members are accounts, not models: two PMs on the same model answer, rank and are ranked apart.

Calls go through `ask`, so they are validated, repaired and recorded exactly like the week's. They
are kept in the council's OWN event store (locally `council.sqlite` beside the week's
`events.sqlite`, opened by the CLI), under the question's id `council-<hash of the question>`. A
separate store rather than a kind or partition in the week's store, because then a week id in the
week's store always means a week: no list of weeks, report or replay has to know about questions to
skip them, and nothing here can touch a week's events. The question's id gives the same audit trail
as a week's without a week's calendar: reproducible labels for the same question, an offline rerun
that stores nothing new, and a budget per question (the weekly budget caps what one question can
ever spend) that never eats into a trading week's. The Q&A runs only from the CLI, so it has no
cloud store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from statistics import fmean
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from llmtrade.config import Settings
from llmtrade.domain.reviews import label_map
from llmtrade.events import EventLog
from llmtrade.mechanics.model_calls import ModelFailed, ask
from llmtrade.ports import LLM, EventStore
from llmtrade.schemas import QAAnswer, QARanking, QASynthesis


@dataclass(frozen=True)
class CouncilContext:
    """What the general council needs: no market, broker or research. `store` is the council's own
    event store, never the week's."""

    settings: Settings
    store: EventStore
    llm: LLM
    offline: bool

    @cached_property
    def events(self) -> EventLog:
        """The council's store read and written by intent (llmtrade.events)."""
        return EventLog(self.store)


class MemberAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True)

    account_id: str
    model: str
    answered_by: str | None = None
    answer: QAAnswer | None = None
    error: str | None = None


class MemberRanking(BaseModel):
    model_config = ConfigDict(defer_build=True)

    reviewer: str  # the reviewing member's model
    reviewer_account: str
    labels: dict[str, str]  # label shown to the reviewer -> the model that wrote that answer
    ranking: list[str] = []  # models, best first
    ranked_accounts: list[str] = []  # the same ranking by member (two members may share a model)
    reasoning: str | None = None
    error: str | None = None


class AggregateRank(BaseModel):
    model_config = ConfigDict(defer_build=True)

    account_id: str
    model: str
    mean_position: float | None  # 1 is best; None when no reviewer ranked it
    rankings: int


class Synthesis(BaseModel):
    model_config = ConfigDict(defer_build=True)

    model: str | None = None  # the chairman that answered: the configured one or its backup
    answered_by: str | None = None
    answer: QASynthesis | None = None
    errors: list[str] = []


class CouncilResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    question: str
    run_id: str
    offline: bool
    answers: list[MemberAnswer]
    rankings: list[MemberRanking]
    aggregate: list[AggregateRank]
    synthesis: Synthesis

    def answered(self) -> dict[str, QAAnswer]:
        """member account -> its answer, for the members that answered."""
        return {a.account_id: a.answer for a in self.answers if a.answer is not None}

    def model_of(self, account_id: str) -> str:
        return next(a.model for a in self.answers if a.account_id == account_id)


StageListener = Callable[[str, CouncilResult], None]


def run_id_of(question: str) -> str:
    """The question's id in the council's store: the same question, the same id."""
    return f"council-{hashlib.sha256(question.strip().encode()).hexdigest()[:12]}"


def _labels(accounts: list[str], seed: str) -> dict[str, str]:
    """`Response A`-style labels (shuffled per seed by domain.reviews.label_map) -> account."""
    return {f"Response {label.split()[-1]}": account
            for label, account in label_map(accounts, seed).items()}


def run_council(context: CouncilContext, question: str,
                on_stage: StageListener = lambda *_: None) -> CouncilResult:
    """Run the three stages; `on_stage(name, result so far)` is called as each completes. Model
    failures are part of the result (nothing raises for them); infrastructure errors raise."""
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    run_id = run_id_of(question)
    members = [MemberAnswer(account_id=a.id, model=context.settings.model_of(a.id) or "")
               for a in context.settings.pm_accounts]
    result = CouncilResult(question=question, run_id=run_id, offline=context.offline, answers=[],
                           rankings=[], aggregate=[], synthesis=Synthesis())

    def answer(member: MemberAnswer) -> MemberAnswer:
        try:
            reply, by = ask(context, week_id=run_id, account_id=member.account_id,
                            purpose="qa-answer", model=member.model, role="a council member",
                            template="qa_answer", variables={"question": question},
                            answer=QAAnswer, system_template="qa_system")
        except ModelFailed as exc:
            return member.model_copy(update={"error": str(exc)})
        return member.model_copy(update={"answer": reply, "answered_by": by})

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        result.answers = list(pool.map(answer, members))
    on_stage("answers", result)

    reviewers = list(result.answered())
    if len(reviewers) >= 3:  # each reviewer ranks at least two others
        with ThreadPoolExecutor(max_workers=len(reviewers)) as pool:
            result.rankings = list(pool.map(lambda reviewer: _rank(context, result, reviewer),
                                            reviewers))
    result.aggregate = _aggregate(result)
    on_stage("rankings", result)

    result.synthesis = _synthesize(context, result)
    on_stage("synthesis", result)
    return result


def _rank(context: CouncilContext, result: CouncilResult, reviewer: str) -> MemberRanking:
    """One member ranks the others' answers (never its own), shown under labels shuffled for it."""
    others = {account: reply for account, reply in result.answered().items() if account != reviewer}
    shown = _labels(list(others), f"{result.run_id}:{reviewer}")
    made = MemberRanking(reviewer=result.model_of(reviewer), reviewer_account=reviewer,
                         labels={label: result.model_of(account)
                                 for label, account in shown.items()})
    try:
        reply, _ = ask(context, week_id=result.run_id, account_id=reviewer, purpose="qa-rank",
                       model=made.reviewer, role="a council member reviewing the others",
                       template="qa_rank",
                       answer=_ranking_model(list(shown)), system_template="qa_system",
                       variables={"question": result.question, "answers": [
                           {"label": label, "body": others[account].model_dump(mode="json")}
                           for label, account in shown.items()]})
    except ModelFailed as exc:
        return made.model_copy(update={"error": str(exc)})
    ranked = [shown[label] for label in reply.ranking]
    return made.model_copy(update={"ranking": [result.model_of(a) for a in ranked],
                                   "ranked_accounts": ranked, "reasoning": reply.reasoning})


def _ranking_model(labels: list[str]) -> type[QARanking]:
    """QARanking whose `ranking` lists exactly the labels shown (an enum in the model's schema)."""
    shown: Any = list[Literal[tuple(labels)]]  # type: ignore[misc]  # labels known only at run time
    return create_model("QARanking", __base__=QARanking,
                        ranking=(shown, Field(min_length=len(labels), max_length=len(labels))))


def _aggregate(result: CouncilResult) -> list[AggregateRank]:
    """Mean position (1 is best) of each member's answer over the rankings it is in; best first."""
    positions: dict[str, list[int]] = {account: [] for account in result.answered()}
    for ranking in result.rankings:
        for position, account in enumerate(ranking.ranked_accounts, start=1):
            positions[account].append(position)
    ranks = [AggregateRank(account_id=a, model=result.model_of(a),
                           mean_position=round(fmean(p), 3) if p else None, rankings=len(p))
             for a, p in positions.items()]
    return sorted(ranks, key=lambda r: (r.mean_position is None, r.mean_position or 0.0, r.model,
                                        r.account_id))


def _synthesize(context: CouncilContext, result: CouncilResult) -> Synthesis:
    answered = result.answered()
    if not answered:
        return Synthesis(errors=["no council member answered: nothing to synthesize"])
    labels = _labels(list(answered), f"{result.run_id}:chairman")
    mean_rank = {r.account_id: r.mean_position for r in result.aggregate}
    variables: dict[str, Any] = {"question": result.question, "answers": [
        {"label": label, "body": answered[account].model_dump(mode="json"),
         "mean_rank": mean_rank.get(account)}
        for label, account in labels.items()]}
    chairman = context.settings.models.chairman
    errors = []
    for model, purpose in ((chairman.openrouter_model, "qa-chairman"),
                           (chairman.backup_openrouter_model, "qa-chairman-backup")):
        if model is None:
            continue
        try:
            reply, by = ask(context, week_id=result.run_id,
                            account_id=context.settings.council_account.id, purpose=purpose,
                            model=model, role="the chairman of the council", template="qa_chairman",
                            variables=variables, answer=QASynthesis, system_template="qa_system")
        except ModelFailed as exc:
            errors.append(f"{'backup ' if purpose.endswith('backup') else ''}"
                          f"chairman {model}: {exc}")
            continue
        return Synthesis(model=model, answered_by=by, answer=reply, errors=errors)
    return Synthesis(errors=errors)
