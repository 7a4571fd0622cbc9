"""Perplexity research through the Agent API: one response, or a background run the workflow polls.

Perplexity ended Sonar chat completions (`/chat/completions`, `/v1/async/sonar`) on 2026-09-27
("Sonar is now the Agent API"; integrators' notes and Perplexity's migration guide,
https://docs.perplexity.ai/docs/agent-api/migrate-from-sonar/how-to). Some stored copies of that
guide still say the Sonar API "remains supported": the later notes win, so the old path is gone.
Shapes from Perplexity's docs and its generated SDK types (perplexity-py `types/`):
- POST /v1/agent {preset | model, input, response_format: {type: json_schema, json_schema: {name,
  schema}}, background?} -> a Response {id, status, model, output[], usage, error}. `model` in
  models.yaml is a preset name (`pro-search`, `deep-research`) or a `provider/model` id; a model
  gets the `web_search` tool (a preset brings its own tools).
- status: queued | in_progress (running) | completed | failed | cancelled | requires_action; any
  other is a terminal failure.
- output: `message` items ({content: [{type: output_text, text, annotations}]}; the answer is their
  text) and `search_results` items ({results: [{title, url, date, snippet}]}, the sources);
  `url_citation` annotations add any URL the results left out. usage.cost.total_cost is in USD.
- Long presets (deep-research, wide-research) run with background=true
  (https://docs.perplexity.ai/docs/agent-api/background-mode): GET /v1/agent/{id} polls the run
  (https://docs.perplexity.ai/api-reference/agent-get) from the workflow, never waited here;
  POST /v1/agent/{id}/cancel stops one past our deadline (acknowledged as `cancelling`).
Not confirmed by a stored copy of the docs: the preset `pro-search` as the stand-in for sonar-pro
(the API reference names `fast-search`, `pro-search`, `deep-research` as examples).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from llmtrade.adapters.research.client import (
    ProviderError,
    RetryingClient,
    cancel_job,
    poll,
)
from llmtrade.adapters.research.pack import (
    InvalidResearch,
    pack_from_text,
    research_prompt,
    research_schema,
)
from llmtrade.config import AssetsConfig
from llmtrade.schemas import Citation, ResearchStatus

DEFAULT_BASE_URL = "https://api.perplexity.ai"
BACKGROUND_PRESETS = frozenset({"deep-research", "wide-research"})
_RUNNING = ("queued", "in_progress")
_ENDED = {
    "cancelled": "was cancelled before it finished",
    "requires_action": "stopped to wait for a tool result this pipeline never gives",
}
_THINK_END = "</think>"


def _cost(usage: Any) -> Decimal:
    cost = usage.get("cost") if isinstance(usage, dict) else None
    total = cost.get("total_cost") if isinstance(cost, dict) else cost
    try:
        return Decimal(str(total)) if isinstance(total, int | float | str) else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _typed(items: Any, kind: str) -> list[dict[str, Any]]:
    """The objects of type `kind` in a JSON array (nothing when it is not an array)."""
    return [item for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("type") == kind]


def _items(response: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return _typed(response.get("output"), kind)


def _parts(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The output_text parts of the response's messages."""
    return [part for message in _items(response, "message")
            for part in _typed(message.get("content"), "output_text")]


def _citations(response: dict[str, Any]) -> list[Citation]:
    """search_results (with titles and dates) first, then any cited URL they left out."""
    found: dict[str, Citation] = {}
    for item in _items(response, "search_results"):
        results = item.get("results")
        for result in results if isinstance(results, list) else []:
            url = result.get("url") if isinstance(result, dict) else None
            if isinstance(url, str) and url and url not in found:
                found[url] = Citation(title=str(result.get("title") or url), url=url,
                                      date=result.get("date") or None,
                                      snippet=result.get("snippet") or None)
    for part in _parts(response):
        for note in part.get("annotations") or []:
            url = note.get("url") if isinstance(note, dict) else None
            if isinstance(url, str) and url and url not in found:
                found[url] = Citation(title=str(note.get("title") or url), url=url)
    return list(found.values())


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or error.get("code")
    return str(error)[:500] if error else "no reason given"


class PerplexityResearch:
    def __init__(self, api_key: str, provider_id: str, model: str, assets: AssetsConfig, *,
                 base_url: str = DEFAULT_BASE_URL, timeout_s: float = 120.0,
                 max_attempts: int = 3, backoff_s: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = provider_id
        self._model, self._assets = model, assets
        self._http = RetryingClient(provider=f"Perplexity ({model})",
                                    key_name="PERPLEXITY_API_KEY", secret=api_key,
                                    base_url=base_url,
                                    headers={"Authorization": f"Bearer {api_key}"},
                                    timeout_s=timeout_s, max_attempts=max_attempts,
                                    backoff_s=backoff_s, sleep=sleep)

    @property
    def asynchronous(self) -> bool:
        return self._model in BACKGROUND_PRESETS

    def _request(self, prompt: str) -> dict[str, Any]:
        # a preset names no provider; a model does, and searches only with the web_search tool
        what: dict[str, Any] = ({"model": self._model, "tools": [{"type": "web_search"}]}
                                if "/" in self._model else {"preset": self._model})
        return {**what, "input": prompt,
                "response_format": {"type": "json_schema",
                                    "json_schema": {"name": "ResearchAnswer",
                                                    "schema": research_schema(self._assets)}},
                **({"background": True} if self.asynchronous else {})}

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        prompt = research_prompt(week_id, asof, self._assets)
        try:
            body, raw = self._http.request("POST", "/v1/agent", json=self._request(prompt),
                                           resend_after_timeout=not self.asynchronous)
        except ProviderError as exc:
            return ResearchStatus(state="failed", error=str(exc), prompt=prompt, raw=exc.raw)
        if body.get("status") in _RUNNING and not body.get("id"):
            return ResearchStatus(state="failed",
                                  error=f"{self.name}: the background run came back without an id",
                                  prompt=prompt, raw=raw)
        return self._status(body, raw, week_id, asof, prompt=prompt)

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
        polled = poll(self._http, f"/v1/agent/{handle}", handle)
        if isinstance(polled, ResearchStatus):
            return polled
        body, raw = polled
        return self._status(body, raw, week_id, asof, handle=handle)

    def cancel(self, handle: str) -> str:
        """Ask Perplexity to stop a background run still running past our deadline."""
        return cancel_job(self._http, f"/v1/agent/{handle}/cancel", f"run {handle}", "Perplexity")

    def _status(self, response: dict[str, Any], raw: str, week_id: str, asof: datetime, *,
                handle: str = "", prompt: str = "") -> ResearchStatus:
        handle = str(response.get("id") or handle)
        status = response.get("status")
        if status in _RUNNING:
            return ResearchStatus(state="running", handle=handle, prompt=prompt, raw=raw)
        cost = _cost(response.get("usage"))
        if status == "completed":
            return self._answered(response, raw, week_id, asof, handle=handle, prompt=prompt,
                                  cost=cost)
        why = (f"failed: {_reason(response.get('error'))}" if status == "failed"
               else _ENDED.get(str(status), f"answered with an unknown status {status!r}"))
        return ResearchStatus(state="failed", handle=handle, cost_usd=cost,
                              error=f"{self.name}: response {handle or '(no id)'} {why}",
                              prompt=prompt, raw=raw)

    def _answered(self, response: dict[str, Any], raw: str, week_id: str, asof: datetime, *,
                  handle: str, prompt: str, cost: Decimal) -> ResearchStatus:
        text = "".join(str(part.get("text") or "") for part in _parts(response))
        if not text.strip():
            return ResearchStatus(state="failed", handle=handle,
                                  error=f"{self.name}: the answer holds no text",
                                  cost_usd=cost, prompt=prompt, raw=raw)
        if _THINK_END in text:  # a reasoning model's thoughts before the JSON
            text = text.rsplit(_THINK_END, 1)[1]
        try:
            pack = pack_from_text(text, week_id=week_id, asof=asof,
                                  source=f"{self.name}:{self._model}", assets=self._assets,
                                  citations=_citations(response))
        except InvalidResearch as exc:
            return ResearchStatus(state="failed", handle=handle, error=str(exc), cost_usd=cost,
                                  prompt=prompt, raw=raw)
        return ResearchStatus(state="completed", handle=handle, pack=pack, cost_usd=cost,
                              prompt=prompt, raw=raw)
