"""The council: PM pitches, anonymized peer reviews, the chairman (SPEC §3.3-§3.5).

Each step is idempotent: when its event (or the model's recorded failure) exists it returns that,
so a rerun neither calls a model again nor stores anything twice. A model that fails is recorded
as data and its account goes FLAT; only infrastructure errors raise. A failed chairman hands over
to the backup chairman; if that fails too, the council is FLAT with both reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, create_model

from llmtrade.config import Settings
from llmtrade.domain.reviews import aggregate, label_map
from llmtrade.mechanics.model_calls import ModelFailed, ask
from llmtrade.mechanics.run_control import halted
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanAnswer,
    ChairmanDecision,
    Event,
    EventKind,
    ModelFailure,
    PeerReview,
    Pitch,
    PitchAnswer,
    PitchReview,
    ReviewAggregate,
    of_kind,
)
from llmtrade.services import Services

ANONYMOUS_FIELDS = {"idea_id", "model", "answered_by", "week_id", "timestamp"}
PRIMARY_CHAIRMAN_FAILED = "chairman-primary"  # subject of the configured chairman's failure; the backup goes on


def _now() -> datetime:
    return datetime.now(UTC)


def _existing(services: Services, run: WeekRun, account_id: str, kind: EventKind, stage: str) -> Event | None:
    store = services.store
    failure = store.get(run.week_id, account_id, EventKind.MODEL_FAILURE, stage)
    return store.get(run.week_id, account_id, kind) or failure


def _fail(services: Services, run: WeekRun, account_id: str, model: str, stage: str, reason: str,
          subject: str = "") -> Event:
    """Record a model failure. Its subject is the stage (the account is FLAT), except the primary chairman's
    (PRIMARY_CHAIRMAN_FAILED), which leaves the decision to the backup."""
    failure = ModelFailure(week_id=run.week_id, account_id=account_id, model=model, stage=stage,  # type: ignore[arg-type]
                           reason=reason, timestamp=_now())
    event = Event.of(failure, week_id=run.week_id, account_id=account_id, kind=EventKind.MODEL_FAILURE,
                     subject=subject or stage, recorded_at=_now())
    services.store.append(event)
    return event


def _result(event: Event) -> dict[str, Any]:
    return {"account_id": event.account_id, "event_id": event.event_id,
            "status": "failed" if event.kind is EventKind.MODEL_FAILURE else "ok"}


def pitches_of(services: Services, week_id: str) -> list[Pitch]:
    return of_kind(services.store.list_week(week_id), EventKind.PITCH)


# --------------------------------------------------------------------------- pitch
def pitch(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
    if existing := _existing(services, run, account_id, EventKind.PITCH, "pitch"):
        return _result(existing)
    if stopped := halted(services, run.week_id, account_id, "pitch"):
        return stopped
    model = services.settings.model_of(account_id)
    assert model is not None, f"{account_id} is not a PM account"
    packs = of_kind(services.store.list_week(run.week_id, SHARED_ACCOUNT), EventKind.RESEARCH_PACK)
    if not packs:
        raise LookupError(f"week {run.week_id} has no research pack: run the research step first")
    try:
        answer, answered_by = ask(services, week_id=run.week_id, account_id=account_id, purpose="pitch", model=model,
                     role="a portfolio manager", template="pitch", answer=PitchAnswer,
                     variables={"week_id": run.week_id, "asof": run.asof.isoformat(),
                                "packs": [p.model_dump(mode="json") for p in packs]})
    except ModelFailed as exc:
        return _result(_fail(services, run, account_id, model, "pitch", str(exc)))
    made = Pitch(**answer.model_dump(), idea_id=f"{run.week_id}:{account_id}", week_id=run.week_id, model=model,
                 answered_by=answered_by, timestamp=_now())
    event = Event.of(made, week_id=run.week_id, account_id=account_id, kind=EventKind.PITCH, recorded_at=_now())
    services.store.append(event)
    return _result(event)


def _anonymous(pitch_: Pitch) -> dict[str, Any]:
    return pitch_.model_dump(mode="json", exclude=ANONYMOUS_FIELDS)


# --------------------------------------------------------------------------- review
def review(services: Services, run: WeekRun, account_id: str) -> dict[str, Any]:
    if existing := _existing(services, run, account_id, EventKind.PEER_REVIEW, "review"):
        return _result(existing)
    if stopped := halted(services, run.week_id, account_id, "review"):
        return stopped
    model = services.settings.model_of(account_id)
    assert model is not None, f"{account_id} is not a PM account"
    others = {p.idea_id: p for p in pitches_of(services, run.week_id) if p.idea_id != f"{run.week_id}:{account_id}"}
    if not others:
        return {"account_id": account_id, "event_id": None, "status": "nothing to review"}
    labels = {label[-1]: idea for label, idea in label_map(list(others), f"{run.week_id}:{account_id}").items()}
    answer_model = create_model("PeerReviewAnswer", **{label: (PitchReview, ...) for label in labels})
    try:
        answer, answered_by = ask(services, week_id=run.week_id, account_id=account_id, purpose="review", model=model,
                     role="a portfolio manager reviewing peers", template="review", answer=answer_model,
                     variables={"week_id": run.week_id,
                                "pitches": [{"label": label, "body": _anonymous(others[idea])}
                                            for label, idea in labels.items()]})
    except ModelFailed as exc:
        return _result(_fail(services, run, account_id, model, "review", str(exc)))
    made = PeerReview(week_id=run.week_id, reviewer_account=account_id, reviewer_model=answered_by, label_map=labels,
                      reviews={label: getattr(answer, label) for label in labels}, timestamp=_now())
    event = Event.of(made, week_id=run.week_id, account_id=account_id, kind=EventKind.PEER_REVIEW, recorded_at=_now())
    services.store.append(event)
    return _result(event)


# --------------------------------------------------------------------------- chairman
def chairman(services: Services, run: WeekRun) -> dict[str, Any]:
    """The chairman decides; if it fails its backup does; if both fail the council is FLAT with both reasons."""
    council = services.settings.council_account.id
    if existing := _existing(services, run, council, EventKind.CHAIRMAN_DECISION, "chairman"):
        return _result(existing)
    if stopped := halted(services, run.week_id, council, "chairman"):
        return stopped
    models = services.settings.models.chairman
    pitches = {p.idea_id: p for p in pitches_of(services, run.week_id)}
    quorum = services.settings.models.quorum
    if len(pitches) < quorum:
        return _result(_fail(services, run, council, models.openrouter_model, "chairman",
                             f"quorum not met: {len(pitches)} valid pitches, {quorum} needed"))
    reviews = of_kind(services.store.list_week(run.week_id), EventKind.PEER_REVIEW)
    aggregates = aggregate(list(pitches), reviews)
    labels = label_map(list(pitches), f"{run.week_id}:chairman")
    by_idea = {a.idea_id: a for a in aggregates}
    variables = {"week_id": run.week_id, "pitches": [
        {"label": label, "body": _anonymous(pitches[idea]), "overall": by_idea[idea].overall,
         "reviews": by_idea[idea].reviews} for label, idea in labels.items()]}
    reasons: list[str] = []
    # the primary's failure is its own event, so a rerun goes straight to the backup
    primary_failed = services.store.get(run.week_id, council, EventKind.MODEL_FAILURE, PRIMARY_CHAIRMAN_FAILED)
    if primary_failed is None:
        try:
            return _decide(services, run, models.openrouter_model, "chairman", variables, labels, pitches, aggregates)
        except ModelFailed as exc:
            primary_failed = _fail(services, run, council, models.openrouter_model, "chairman", str(exc),
                                   subject=PRIMARY_CHAIRMAN_FAILED)
    reasons.append(f"chairman {models.openrouter_model}: {ModelFailure.model_validate(primary_failed.payload).reason}")
    if models.backup_openrouter_model is None:
        reasons.append("no backup chairman configured")
    else:
        try:
            return _decide(services, run, models.backup_openrouter_model, "chairman-backup", variables, labels,
                           pitches, aggregates)
        except ModelFailed as exc:
            reasons.append(f"backup {models.backup_openrouter_model}: {exc}")
    return _result(_fail(services, run, council, models.backup_openrouter_model or models.openrouter_model,
                         "chairman", "; ".join(reasons)))


def _decide(services: Services, run: WeekRun, model: str, purpose: str, variables: dict[str, Any],
            labels: dict[str, str], pitches: dict[str, Pitch], aggregates: list[ReviewAggregate]) -> dict[str, Any]:
    council = services.settings.council_account.id
    answer, answered_by = ask(services, week_id=run.week_id, account_id=council, purpose=purpose, model=model,
                              role="the chairman of the council", template="chairman", answer=ChairmanAnswer,
                              variables=variables)
    trade = answer.selected_trade
    backing = [pitches[a.idea_id] for a in aggregates
               if pitches[a.idea_id].instrument == trade.instrument and pitches[a.idea_id].direction == trade.direction]
    # `model` says which chairman decided: the configured one, or its backup
    decision = ChairmanDecision(**answer.model_dump(), week_id=run.week_id, model=model, answered_by=answered_by,
                                label_map=labels, aggregates=aggregates,
                                indicators=backing[0].indicators if backing else [], timestamp=_now())
    event = Event.of(decision, week_id=run.week_id, account_id=council, kind=EventKind.CHAIRMAN_DECISION,
                     recorded_at=_now())
    services.store.append(event)
    return _result(event)


# --------------------------------------------------------------------------- estimate
class StageEstimate(BaseModel):
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
