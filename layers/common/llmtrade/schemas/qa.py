"""What each model of the general council (`llmtrade council`, SPEC §6) must answer at each stage,
validated before it is used: a ranking that names an answer twice is refused."""

from __future__ import annotations

from pydantic import Field, model_validator

from llmtrade.schemas.basics import LongText, ShortText, Strict


class QAAnswer(Strict):
    """Stage 1 of `llmtrade council`: one model's answer to the question."""

    answer: LongText
    key_points: list[ShortText] = Field(min_length=1, max_length=5)


class QARanking(Strict):
    """Stage 2: the other models' answers, best first, by their anonymous labels, each exactly once.
    The council narrows `ranking` to the labels a reviewer was shown."""

    ranking: list[str] = Field(min_length=1)
    reasoning: ShortText

    @model_validator(mode="after")
    def _each_once(self) -> QARanking:
        if len(set(self.ranking)) != len(self.ranking):
            raise ValueError(f"rank each answer exactly once, not {self.ranking}")
        return self


class QASynthesis(Strict):
    """Stage 3: the chairman's answer for the council."""

    answer: LongText
    consensus: ShortText
    dissent: ShortText
