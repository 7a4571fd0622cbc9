"""The week's research (SPEC §3.2): a frozen pack, or why a provider produced none; and where one
provider's research stands (`ResearchStatus`, what a research provider port answers: not an event).

A pack is a provider's answer (`llmtrade.schemas.answers.research.ResearchAnswer`) with who
produced it, when and its sources; the council pitches from the week's packs only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llmtrade.schemas.answers.research import ResearchAnswer
from llmtrade.schemas.basics import Strict


class Citation(Strict):
    title: str
    url: str
    date: str | None = None
    snippet: str | None = None


class ResearchPack(ResearchAnswer):
    """A frozen research pack (SPEC §3.2): the answer, who produced it, when, and its sources."""

    week_id: str
    asof_et: datetime
    research_source: str
    citations: list[Citation] = []
    # when the pack was written (a live pack: the real time; offline: the simulated run's moment)
    produced_at: datetime | None = None


class ResearchFailure(Strict):
    """A provider that produced no pack this week; with no provider (subject ""), no research."""

    week_id: str
    provider: str | None = Field(
        description="None: no provider produced a pack, the week cannot pitch")
    reason: str
    timestamp: datetime


class ResearchStatus(BaseModel):
    """Where one provider's research for the week stands. Quick providers complete in `start`;
    long-running ones (Gemini Deep Research, Perplexity async deep research) return `running` with
    a `handle` the workflow polls with `check` from a Wait → check → Choice loop, never a waiting
    Lambda."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    state: Literal["running", "completed", "failed"]
    handle: str = ""  # the provider's job id, to poll while running
    pack: ResearchPack | None = None  # set when completed: validated, with citations and as-of time
    error: str | None = None  # set when failed: why, in words a user can act on (never a key)
    cost_usd: Decimal = Decimal(0)
    prompt: str = ""  # what the provider was asked (set by start), for audit
    raw: str = ""  # the provider's last response body, for audit
