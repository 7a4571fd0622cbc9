"""The council: PM pitches, anonymized peer reviews, the chairman (SPEC §3.3-§3.5).

Each step is idempotent: when its event (or the model's recorded failure) exists it returns that,
so a rerun neither calls a model again nor stores anything twice. A model that fails is recorded
as data and its account goes FLAT; only infrastructure errors raise. A failed chairman hands over
to the backup chairman; if that fails too, the council is FLAT with both reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from llmtrade.config import Settings
from llmtrade.domain.reviews import aggregate, label_map
from llmtrade.events import Entry, Week
from llmtrade.mechanics.model_calls import ModelFailed, ask
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanAnswer,
    ChairmanDecision,
    ModelFailure,
    PeerReview,
    Pitch,
    PitchAnswer,
    PitchReview,
    ResearchPack,
    ReviewAggregate,
)
from llmtrade.services import Services

ANONYMOUS_FIELDS = {"idea_id", "model", "answered_by", "week_id", "timestamp"}
# the subject of the configured chairman's failure; the backup goes on
PRIMARY_CHAIRMAN_FAILED = "chairman-primary"

Stage = Literal["pitch", "review", "chairman"]


def _now() -> datetime:
    return datetime.now(UTC)


def _existing(week: Week, account_id: str, made: type[BaseModel],
              stage: Stage) -> Entry[Any] | None:
    """The step's result when it ran before: what it made, or the model's failure at this stage."""
    made_before: Entry[Any] | None = week.find(made, account_id)
    return made_before or week.find(ModelFailure, account_id, stage)


def _fail(services: Services, run: WeekRun, account_id: str, model: str, stage: Stage, reason: str,
          subject: str = "") -> Entry[ModelFailure]:
    """Record a model failure. Its subject is the stage (the account is FLAT), except the primary
    chairman's (PRIMARY_CHAIRMAN_FAILED), which leaves the decision to the backup."""
    failure = ModelFailure(week_id=run.week_id, account_id=account_id, model=model, stage=stage,
                           reason=reason, timestamp=_now())
    return services.events.record(failure, week_id=run.week_id, account_id=account_id,
                                  subject=subject or stage)


def _result(entry: Entry[Any]) -> dict[str, Any]:
    return {"account_id": entry.account_id, "event_id": entry.event_id,
            "status": "failed" if isinstance(entry.payload, ModelFailure) else "ok"}


def _pm_model(services: Services, account_id: str) -> str:
    model = services.settings.model_of(account_id)
    assert model is not None, f"{account_id} is not a PM account"
    return model


# --------------------------------------------------------------------------- pitch
def pitch(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
    week = services.events.week(run.week_id)  # read once (the budget is read fresh per call)
    if existing := _existing(week, account_id, Pitch, "pitch"):
        return _result(existing)
    model = _pm_model(services, account_id)
    packs = week.all(ResearchPack, SHARED_ACCOUNT)
    if not packs:
        raise LookupError(f"week {run.week_id} has no research pack: run the research step first")
    try:
        answer, answered_by = ask(services, week_id=run.week_id, account_id=account_id,
                                  purpose="pitch", model=model, role="a portfolio manager",
                                  template="pitch", answer=PitchAnswer,
                                  variables={"week_id": run.week_id, "asof": run.asof.isoformat(),
                                             # what the research says, not when it was written
                                             "packs": [p.model_dump(mode="json",
                                                                    exclude={"produced_at"})
                                                       for p in packs]})
    except ModelFailed as exc:
        return _result(_fail(services, run, account_id, model, "pitch", str(exc)))
    made = Pitch(**answer.model_dump(), idea_id=f"{run.week_id}:{account_id}", week_id=run.week_id,
                 model=model, answered_by=answered_by, timestamp=_now())
    return _result(services.events.record(made, week_id=run.week_id, account_id=account_id))


def _anonymous(pitch_: Pitch) -> dict[str, Any]:
    return pitch_.model_dump(mode="json", exclude=ANONYMOUS_FIELDS)


# --------------------------------------------------------------------------- review
def review(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
    week = services.events.week(run.week_id)
    if existing := _existing(week, account_id, PeerReview, "review"):
        return _result(existing)
    model = _pm_model(services, account_id)
    own = f"{run.week_id}:{account_id}"
    others = {p.idea_id: p for p in week.all(Pitch) if p.idea_id != own}
    if not others:
        return {"account_id": account_id, "event_id": None, "status": "nothing to review"}
    labels = {label[-1]: idea for label, idea in label_map(list(others), own).items()}
    try:
        answer, answered_by = _ask_review(services, run, account_id, model, labels, others)
    except ModelFailed as exc:
        return _result(_fail(services, run, account_id, model, "review", str(exc)))
    made = PeerReview(week_id=run.week_id, reviewer_account=account_id, reviewer_model=answered_by,
                      label_map=labels, reviews={label: getattr(answer, label) for label in labels},
                      timestamp=_now())
    return _result(services.events.record(made, week_id=run.week_id, account_id=account_id))


def _ask_review(services: Services, run: WeekRun, account_id: str, model: str,
                labels: dict[str, str], others: dict[str, Pitch]) -> tuple[BaseModel, str]:
    """The reviewer sees the other pitches under shuffled letters, answers one review per letter."""
    one_review_per_label: dict[str, Any] = {label: (PitchReview, ...) for label in labels}
    answer_model = create_model("PeerReviewAnswer", **one_review_per_label)
    return ask(services, week_id=run.week_id, account_id=account_id, purpose="review", model=model,
               role="a portfolio manager reviewing peers", template="review", answer=answer_model,
               variables={"week_id": run.week_id,
                          "pitches": [{"label": label, "body": _anonymous(others[idea])}
                                      for label, idea in labels.items()]})


# --------------------------------------------------------------------------- chairman
@dataclass(frozen=True)
class _Agenda:
    """What the chairman is shown (anonymized pitches, their peer scores) and its decision keeps."""

    pitches: dict[str, Pitch]  # idea id → pitch
    aggregates: list[ReviewAggregate]
    labels: dict[str, str]  # label → idea id
    variables: dict[str, Any]

    @classmethod
    def of(cls, week_id: str, pitches: dict[str, Pitch], reviews: list[PeerReview]) -> _Agenda:
        aggregates = aggregate(list(pitches), reviews)
        labels = label_map(list(pitches), f"{week_id}:chairman")
        by_idea = {a.idea_id: a for a in aggregates}
        variables = {"week_id": week_id, "pitches": [
            {"label": label, "body": _anonymous(pitches[idea]), "overall": by_idea[idea].overall,
             "reviews": by_idea[idea].reviews} for label, idea in labels.items()]}
        return cls(pitches, aggregates, labels, variables)


def chairman(services: Services, run: WeekRun) -> dict[str, Any]:
    """The chairman decides, else its backup; if both fail the council is FLAT with both reasons."""
    council = services.settings.council_account.id
    week = services.events.week(run.week_id)
    if existing := _existing(week, council, ChairmanDecision, "chairman"):
        return _result(existing)
    primary = services.settings.models.chairman.openrouter_model
    pitches = {p.idea_id: p for p in week.all(Pitch)}
    quorum = services.settings.models.quorum
    if len(pitches) < quorum:
        return _result(_fail(services, run, council, primary, "chairman",
                             f"quorum not met: {len(pitches)} valid pitches, {quorum} needed"))
    agenda = _Agenda.of(run.week_id, pitches, week.all(PeerReview))
    # the primary's failure is its own event, so a rerun goes straight to the backup
    primary_failed = week.get(ModelFailure, council, PRIMARY_CHAIRMAN_FAILED)
    if primary_failed is None:
        try:
            return _decide(services, run, primary, "chairman", agenda)
        except ModelFailed as exc:
            primary_failed = _fail(services, run, council, primary, "chairman", str(exc),
                                   subject=PRIMARY_CHAIRMAN_FAILED).payload
    return _backup(services, run, agenda, [f"chairman {primary}: {primary_failed.reason}"])


def _backup(services: Services, run: WeekRun, agenda: _Agenda,
            reasons: list[str]) -> dict[str, Any]:
    """The backup decides; with none, or if it fails too, the council is FLAT with every reason."""
    models = services.settings.models.chairman
    backup = models.backup_openrouter_model
    if backup is None:
        reasons.append("no backup chairman configured")
    else:
        try:
            return _decide(services, run, backup, "chairman-backup", agenda)
        except ModelFailed as exc:
            reasons.append(f"backup {backup}: {exc}")
    return _result(_fail(services, run, services.settings.council_account.id,
                         backup or models.openrouter_model, "chairman", "; ".join(reasons)))


def _decide(services: Services, run: WeekRun, model: str, purpose: str,
            agenda: _Agenda) -> dict[str, Any]:
    council = services.settings.council_account.id
    answer, answered_by = ask(services, week_id=run.week_id, account_id=council, purpose=purpose,
                              model=model, role="the chairman of the council", template="chairman",
                              answer=ChairmanAnswer, variables=agenda.variables)
    # `model` says which chairman decided: the configured one, or its backup; the indicators the
    # council's checkpoints read are the chairman's own (its answer's)
    decision = ChairmanDecision(**answer.model_dump(), week_id=run.week_id, model=model,
                                answered_by=answered_by, label_map=agenda.labels,
                                aggregates=agenda.aggregates, timestamp=_now())
    return _result(services.events.record(decision, week_id=run.week_id, account_id=council))


# --------------------------------------------------------------------------- estimate
class StageEstimate(BaseModel):
    model_config = ConfigDict(defer_build=True)

    stage: str
    calls: int = Field(description="when every model answers validly the first time")
    at_most: int = Field(description="with every repair attempt, and the backup chairman")


def estimate_calls(settings: Settings) -> list[StageEstimate]:
    """The LLM calls of one weekly run, from the config alone (`run-week --estimate`)."""
    models = settings.models
    pms, tries = len(models.pms), 1 + models.repair_attempts
    stages = [StageEstimate(stage="pitches", calls=pms, at_most=pms * tries),
              StageEstimate(stage="reviews", calls=pms, at_most=pms * tries),
              StageEstimate(stage="chairman", calls=1, at_most=tries)]
    if models.chairman.backup_openrouter_model:
        stages.append(StageEstimate(stage="backup chairman", calls=0, at_most=tries))
    return stages
