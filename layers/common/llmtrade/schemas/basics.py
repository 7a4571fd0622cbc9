"""The vocabulary every schema family shares: the strict base model, bounded texts and scores, a
direction and what an account is. Imports nothing from the other schema modules."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Conviction = Annotated[int, Field(ge=-2, le=2,
                                  description="-2 strong SHORT, 0 FLAT, +2 strong LONG")]
Score = Annotated[int, Field(ge=1, le=10)]
ShortText = Annotated[str, Field(min_length=1, max_length=600)]
LongText = Annotated[str, Field(min_length=1, max_length=6000)]


class Strict(BaseModel):
    # defer_build: validators compile on first use, not at import (a Lambda cold start uses few)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Direction(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"
    FLAT = "FLAT"


class AccountKind(StrEnum):
    """What an account is: a PM's, the council's, or the FLAT baseline (which never trades)."""

    PM = "pm"
    COUNCIL = "council"
    FLAT = "flat"


def direction_of(conviction: int) -> Direction:
    return (Direction.LONG if conviction > 0
            else Direction.SHORT if conviction < 0 else Direction.FLAT)
