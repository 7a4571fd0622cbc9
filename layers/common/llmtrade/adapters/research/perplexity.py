"""Perplexity Sonar research: one chat completion, or an async deep-research job the workflow polls.

Shapes from Perplexity's docs:
- POST /chat/completions (OpenAI-compatible) with response_format
  {type: json_schema, json_schema: {name, schema}}
  (https://docs.perplexity.ai/docs/grounded-llm/output-control/structured-outputs: name required,
  1-64 alphanumeric characters); the response adds `citations` (URLs) and `search_results` (title,
  url, date, snippet), and `usage.cost.total_cost` in USD.
- Reasoning models put a <think> section before the JSON even with response_format
  (https://docs.perplexity.ai/faq/faq): it is cut off before extracting the JSON.
- sonar-deep-research: POST /v1/async/sonar {"request": {...}} -> {id, status};
  GET /v1/async/sonar/{id} -> status CREATED | IN_PROGRESS | COMPLETED | FAILED, `response` (the
  chat completion) or `error_message` (https://docs.perplexity.ai/api-reference/async-sonar-post,
  .../async-sonar-api-request-get).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from llmtrade.adapters.research.client import ProviderError, RetryingClient
from llmtrade.adapters.research.pack import (
    InvalidResearch,
    pack_from_text,
    research_prompt,
    research_schema,
)
from llmtrade.config import AssetsConfig
from llmtrade.ports import ResearchStatus
from llmtrade.schemas import Citation

DEEP_RESEARCH_MODEL = "sonar-deep-research"
_RUNNING = ("CREATED", "IN_PROGRESS")
_THINK_END = "</think>"


def _cost(usage: Any) -> Decimal:
    cost = usage.get("cost") if isinstance(usage, dict) else None
    total = cost.get("total_cost") if isinstance(cost, dict) else cost
    try:
        return Decimal(str(total)) if isinstance(total, int | float | str) else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _citations(completion: dict[str, Any]) -> list[Citation]:
    """search_results (with titles and dates) first, then any bare citation URL they left out."""
    citations: list[Citation] = []
    seen: set[str] = set()
    for result in completion.get("search_results") or []:
        url = result.get("url") if isinstance(result, dict) else None
        if url and url not in seen:
            seen.add(url)
            citations.append(Citation(title=result.get("title") or url, url=url,
                                      date=result.get("date") or None,
                                      snippet=result.get("snippet") or None))
    for url in completion.get("citations") or []:
        if isinstance(url, str) and url not in seen:
            seen.add(url)
            citations.append(Citation(title=url, url=url))
    return citations


class PerplexityResearch:
    def __init__(self, api_key: str, provider_id: str, model: str, assets: AssetsConfig, *,
                 base_url: str = "https://api.perplexity.ai", timeout_s: float = 120.0,
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
        return self._model == DEEP_RESEARCH_MODEL

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        prompt = research_prompt(week_id, asof, self._assets)
        request = {
            "model": self._model,
            "messages": [{"role": "user", "content": prompt}],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "ResearchAnswer",
                                                "schema": research_schema(self._assets)}},
        }
        try:
            if not self.asynchronous:
                body, raw = self._http.request("POST", "/chat/completions", json=request)
                return self._answered(body, raw, week_id, asof, prompt=prompt)
            body, raw = self._http.request("POST", "/v1/async/sonar", json={"request": request},
                                           resend_after_timeout=False)
        except ProviderError as exc:
            return ResearchStatus(state="failed", error=str(exc), prompt=prompt, raw=exc.raw)
        if not body.get("id"):
            return ResearchStatus(state="failed",
                                  error=f"{self.name}: the deep research job came back"
                                        " without an id",
                                  prompt=prompt, raw=raw)
        return self._job(body, raw, week_id, asof, prompt=prompt)

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
        if not self.asynchronous:
            raise ValueError(f"{self.name}: {self._model} answers in start;"
                             " there is no job to check")
        try:
            body, raw = self._http.request("GET", f"/v1/async/sonar/{handle}")
        except ProviderError as exc:
            # a poll that could not get through is not a failed job: it runs on at Perplexity, and
            # the workflow's deadline bounds how long it is waited for
            return ResearchStatus(state="running" if exc.transient else "failed", handle=handle,
                                  error=str(exc), raw=exc.raw)
        return self._job(body, raw, week_id, asof, handle=handle)

    def _job(self, body: dict[str, Any], raw: str, week_id: str, asof: datetime, *,
             handle: str = "", prompt: str = "") -> ResearchStatus:
        handle = str(body.get("id") or handle)
        status = body.get("status")
        if status in _RUNNING:
            return ResearchStatus(state="running", handle=handle, prompt=prompt, raw=raw)
        if status == "COMPLETED" and isinstance(body.get("response"), dict):
            return self._answered(body["response"], raw, week_id, asof, handle=handle,
                                  prompt=prompt)
        reason = (f"failed: {body.get('error_message') or 'no reason given'}" if status == "FAILED"
                  else f"answered with status {status!r} and no response")
        return ResearchStatus(state="failed", handle=handle,
                              error=f"{self.name}: deep research job {handle} {reason}",
                              prompt=prompt, raw=raw)

    def _answered(self, completion: dict[str, Any], raw: str, week_id: str, asof: datetime, *,
                  handle: str = "", prompt: str = "") -> ResearchStatus:
        cost = _cost(completion.get("usage"))
        try:
            text = completion["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            text = None
        if not isinstance(text, str) or not text.strip():
            return ResearchStatus(state="failed", handle=handle,
                                  error=f"{self.name}: the answer holds no text",
                                  cost_usd=cost, prompt=prompt, raw=raw)
        if _THINK_END in text:
            text = text.rsplit(_THINK_END, 1)[1]
        try:
            pack = pack_from_text(text, week_id=week_id, asof=asof,
                                  source=f"{self.name}:{self._model}", assets=self._assets,
                                  citations=_citations(completion))
        except InvalidResearch as exc:
            return ResearchStatus(state="failed", handle=handle, error=str(exc), cost_usd=cost,
                                  prompt=prompt, raw=raw)
        return ResearchStatus(state="completed", handle=handle, pack=pack, cost_usd=cost,
                              prompt=prompt, raw=raw)
