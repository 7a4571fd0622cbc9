"""What every research provider shares: the prompt, the answer schema, and turning text into a pack.

A provider answers with text that should hold one JSON object (a ResearchAnswer); the pack adds the
week, the as-of time, the provider's name and the sources the provider returned, and is validated
before anything is stored. Providers differ only in how they are called and polled.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from llmtrade.config import AssetsConfig
from llmtrade.domain.calendar import ET
from llmtrade.domain.universe import answer_schema, in_universe
from llmtrade.prompts import render
from llmtrade.schemas import Citation, ResearchAnswer, ResearchPack

_FENCED = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


class InvalidResearch(ValueError):
    """The provider's answer is not a valid research pack.

    The message says why (for the failure event)."""


def research_prompt(week_id: str, asof: datetime, assets: AssetsConfig,
                    today: datetime | None = None) -> str:
    """`today`: the real date the provider is asked on (the clock's, never the week's)."""
    today = today or datetime.now(UTC)
    return render("research", week_id=week_id, asof=f"{asof.astimezone(ET):%Y-%m-%d %H:%M}",
                  today=f"{today.astimezone(ET):%Y-%m-%d %H:%M}",
                  assets=[a.model_dump() for a in assets.assets])


def research_schema(assets: AssetsConfig) -> dict[str, Any]:
    """The ResearchAnswer JSON schema with every instrument restricted to the universe."""
    return answer_schema(ResearchAnswer, assets.symbols)


def extract_json(text: str) -> str:
    """The JSON object in a model's text: the whole text, a ```json fence, or the outer braces."""
    text = text.strip()
    if text.startswith("{"):
        return text
    if fenced := _FENCED.search(text):
        return fenced.group(1)
    first, last = text.find("{"), text.rfind("}")
    if first == -1 or last <= first:
        raise InvalidResearch("the answer holds no JSON object")
    return text[first:last + 1]


def pack_from_text(text: str, *, week_id: str, asof: datetime, source: str, assets: AssetsConfig,
                   citations: list[Citation] | None = None) -> ResearchPack:
    """Validate a provider's answer into a frozen pack, or raise InvalidResearch saying why."""
    try:
        answer = ResearchAnswer.model_validate_json(extract_json(text))
        in_universe(assets.symbols)(answer)
    except (ValidationError, ValueError) as exc:
        raise InvalidResearch(f"{source}: the answer is not a valid research pack:"
                              f" {str(exc)[:1500]}") from exc
    return ResearchPack(**answer.model_dump(), week_id=week_id, asof_et=asof.astimezone(ET),
                        research_source=source, citations=citations or [])


def dumps(body: Any) -> str:
    """A response body as text for the audit trail."""
    return body if isinstance(body, str) else json.dumps(body, default=str)
