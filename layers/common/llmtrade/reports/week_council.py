"""The week report's council sections: the chairman's decision, the peer-review heatmap, the
pitches."""

from __future__ import annotations

from dataclasses import dataclass

from llmtrade.domain.reviews import aggregate
from llmtrade.events import Week
from llmtrade.schemas import ChairmanDecision, ModelFailure, PeerReview, Pitch, PitchScores


@dataclass
class HeatCell:
    score: float | None  # None: the reviewer did not review this pitch (its own, or a failure)
    detail: str = ""  # per-criterion scores, shown on hover


def _cell(scores: PitchScores | None) -> HeatCell:
    if scores is None:
        return HeatCell(None)
    return HeatCell(round(scores.mean(), 1),
                    ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in scores.model_dump().items()))


def heatmap(reviews: list[PeerReview],
            pitch_account: dict[str, str]) -> tuple[list[str], list[list[HeatCell]]]:
    """Reviewer rows by pitch columns (both account ids), each review's mean score; labels mapped
    back."""
    columns = list(pitch_account.values())
    rows = []
    for review in reviews:
        by_account: dict[str, PitchScores] = {}
        for label, pitch_review in review.reviews.items():
            if (account := pitch_account.get(review.label_map.get(label, ""))) is not None:
                by_account[account] = pitch_review.scores
        rows.append([_cell(by_account.get(column)) for column in columns])
    return columns, rows


def council_section(week: Week, names: dict[str, str]) -> dict[str, object]:
    """The pitches (in account order) with their peer scores, the failures, the heatmap and the
    decision."""
    pitches = week.by_account(Pitch)
    reviews = week.all(PeerReview)
    pitch_account = {p.idea_id: account for account, p in pitches.items()}
    columns, heat_rows = heatmap(reviews, pitch_account)
    return {
        "pitches": [(a, pitches[a]) for a in names if a in pitches],
        "failures": week.all(ModelFailure),
        "scores": {pitch_account[a.idea_id]: a for a in aggregate(list(pitch_account), reviews)
                   if a.reviews},
        "decision": next(iter(week.all(ChairmanDecision)), None), "pitch_account": pitch_account,
        "heat_columns": columns,
        "heat_rows": list(zip([r.reviewer_account for r in reviews], heat_rows, strict=True)),
    }
