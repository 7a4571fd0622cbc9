"""The week's council (SPEC §3.3-§3.5): pitches, peer reviews, the chairman's decision, and the
models that failed to answer (their accounts go FLAT for the week).

Each is a model's answer (`llmtrade.schemas.answers.council`) with the step's identity and time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from llmtrade.schemas.answers.council import ChairmanAnswer, Indicator, PitchAnswer, PitchReview
from llmtrade.schemas.basics import Strict


class Pitch(PitchAnswer):
    idea_id: str
    week_id: str
    model: str
    answered_by: str
    timestamp: datetime


class PeerReview(Strict):
    """One reviewer's reviews; `label_map` turns neutral labels back into idea ids."""

    week_id: str
    reviewer_account: str
    reviewer_model: str
    label_map: dict[str, str]
    reviews: dict[str, PitchReview]
    timestamp: datetime


class ReviewAggregate(Strict):
    idea_id: str
    reviews: int
    mean_scores: dict[str, float]
    overall: float


class ChairmanDecision(ChairmanAnswer):
    week_id: str
    model: str
    answered_by: str
    label_map: dict[str, str]
    aggregates: list[ReviewAggregate]
    # decisions stored before the chairman stated its own indicators hold a pitch's, or none
    indicators: list[Indicator] = Field(default=[], max_length=5)
    timestamp: datetime


class ModelFailure(Strict):
    """A model that did not produce a valid answer: its account goes FLAT for the week (§3)."""

    week_id: str
    account_id: str
    model: str
    stage: Literal["research", "pitch", "review", "chairman"]
    reason: str
    timestamp: datetime
