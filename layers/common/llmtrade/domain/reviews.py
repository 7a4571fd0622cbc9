"""Anonymized peer review: neutral labels, and per-pitch score aggregation (SPEC §3.4)."""

from __future__ import annotations

import hashlib
import random
from statistics import fmean
from string import ascii_uppercase

from llmtrade.schemas import PeerReview, PitchScores, ReviewAggregate


def label_map(idea_ids: list[str], seed: str) -> dict[str, str]:
    """Neutral labels (`Pitch A`, …) for the ideas, shuffled per seed (week + reviewer)."""
    order = sorted(idea_ids)
    random.Random(hashlib.sha256(seed.encode()).digest()).shuffle(order)
    return {f"Pitch {ascii_uppercase[i]}": idea for i, idea in enumerate(order)}


def aggregate(idea_ids: list[str], reviews: list[PeerReview]) -> list[ReviewAggregate]:
    """Mean of each score across reviewers, best overall first (ties: idea id)."""
    scores: dict[str, list[PitchScores]] = {idea: [] for idea in idea_ids}
    for review in reviews:
        for label, pitch_review in review.reviews.items():
            idea = review.label_map.get(label)
            if idea in scores:
                scores[idea].append(pitch_review.scores)
    aggregates = []
    for idea, received in scores.items():
        fields = list(PitchScores.model_fields)
        means = ({f: round(fmean(getattr(s, f) for s in received), 3) for f in fields}
                 if received else {})
        overall = round(fmean(means.values()), 3) if means else 0.0
        aggregates.append(ReviewAggregate(idea_id=idea, reviews=len(received), mean_scores=means,
                                          overall=overall))
    return sorted(aggregates, key=lambda a: (-a.overall, a.idea_id))
