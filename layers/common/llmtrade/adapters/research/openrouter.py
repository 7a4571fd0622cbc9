"""Research from one OpenRouter call with the web search server tool: it completes in `start`.

Sources come back as `url_citation` annotations on the message; the answer goes through the shared
pack plumbing (research/pack.py) like every provider's.
"""

from __future__ import annotations

import json
from datetime import datetime

from llmtrade.adapters.llm.openrouter import OpenRouterLLM
from llmtrade.adapters.research.pack import (
    InvalidResearch,
    pack_from_text,
    research_prompt,
    research_schema,
)
from llmtrade.config import AssetsConfig
from llmtrade.ports import ChatMessage, LLMError, LLMRequest
from llmtrade.schemas import Citation, ResearchStatus

WEB_SEARCH_TOOL = {"type": "openrouter:web_search"}


class OpenRouterResearch:
    """Research from one model call with OpenRouter's web search server tool; sources come back
    as `url_citation` annotations on the message. Completes in `start`: there is nothing to poll."""

    def __init__(self, llm: OpenRouterLLM, name: str, model: str, assets: AssetsConfig) -> None:
        self.name, self._llm, self._assets = name, llm, assets
        # `:online` is OpenRouter's deprecated shorthand for the web plugin; the server tool
        # replaces it, and keeping both would search twice.
        self.model = model.removesuffix(":online")

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        prompt = research_prompt(week_id, asof, self._assets)
        request = LLMRequest(model=self.model,
                             messages=[ChatMessage(role="user", content=prompt)],
                             schema_name="ResearchAnswer",
                             json_schema=research_schema(self._assets))
        try:
            response = self._llm.complete(request, extra_body={"tools": [WEB_SEARCH_TOOL]})
        except LLMError as exc:
            return ResearchStatus(state="failed", error=f"{self.name}: {exc}", prompt=prompt,
                                  raw=exc.raw)
        try:
            pack = pack_from_text(response.content, week_id=week_id, asof=asof, source=self.name,
                                  assets=self._assets, citations=citations(response.raw))
        except InvalidResearch as exc:
            return ResearchStatus(state="failed", error=str(exc), cost_usd=response.cost_usd,
                                  prompt=prompt, raw=response.raw)
        return ResearchStatus(state="completed", pack=pack, cost_usd=response.cost_usd,
                              prompt=prompt, raw=response.raw)

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
        return ResearchStatus(state="failed", handle=handle, error=(
            f"{self.name}: OpenRouter research completes in start and is never running;"
            " there is nothing to poll"))

    def cancel(self, handle: str) -> str:
        return f"{self.name}: nothing runs in the background, nothing to cancel"


def citations(raw: str) -> list[Citation]:
    """The `url_citation` annotations of the first choice's message, one per URL."""
    try:
        message = json.loads(raw)["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return []
    found: dict[str, Citation] = {}
    for annotation in message.get("annotations") or []:
        if not isinstance(annotation, dict) or annotation.get("type") != "url_citation":
            continue
        cited = annotation.get("url_citation") or {}
        url = cited.get("url")
        if url and url not in found:
            found[url] = Citation(title=cited.get("title") or url, url=url,
                                  snippet=(cited.get("content") or "")[:500] or None)
    return list(found.values())
