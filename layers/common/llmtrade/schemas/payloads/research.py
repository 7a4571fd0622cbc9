"""The week's research (SPEC §3.2): a frozen pack, or why a provider produced none.

A pack is a provider's answer (`llmtrade.schemas.answers.ResearchAnswer`) with who produced it,
when and its sources; the council pitches from the week's packs only.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from llmtrade.schemas.answers import ResearchAnswer
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
