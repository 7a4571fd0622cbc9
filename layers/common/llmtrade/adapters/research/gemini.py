"""Gemini Deep Research through the Interactions API: start a background interaction, then poll it.

Shapes from Google's docs (https://ai.google.dev/gemini-api/docs/deep-research,
https://ai.google.dev/gemini-api/docs/interactions-breaking-changes-may-2026) and the generated SDK
types (google-genai `_interactions/types`: interaction.py, model_output_step.py, text_content.py,
url_citation.py):
- POST /interactions {agent, input, background: true} -> {id, status, ...}; GET /interactions/{id}.
- status: in_progress | requires_action | completed | failed | cancelled | incomplete
  (| budget_exceeded).
- Since June 2026 an interaction has `steps` (the legacy `outputs` array is gone): the report is
  the text of the last {type: "model_output", content: [{type: "text", text, annotations}]} step;
  its sources are the annotations {type: "url_citation", url, title}. The `Api-Revision` header
  pins that schema.
- `usage` counts tokens only (no price), so the cost is left at 0 here.
- Agents: `deep-research-preview-04-2026` and `deep-research-max-preview-04-2026` (Gemini API
  changelog, April 2026); the id is config (models.yaml), never code.
- A run may sit in_progress past Google's 60-minute limit: past our deadline the workflow cancels
  it with POST /interactions/{id}/cancel (background interactions still running only). Any status
  this module does not know ends the wait as a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from llmtrade.adapters.research.client import (
    ProviderError,
    RetryingClient,
    cancel_job,
    poll,
)
from llmtrade.adapters.research.pack import InvalidResearch, pack_from_text, research_prompt
from llmtrade.config import AssetsConfig
from llmtrade.schemas import Citation, ResearchStatus

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
API_REVISION = "2026-05-20"  # the steps schema (google-genai's GOOGLE_GENAI_API_REVISION)

# Every status but in_progress ends the wait. requires_action means the agent stopped for input
# from us (a function result, an approval) that this pipeline never gives: treating it as running
# would only burn the deadline, so it fails now with the reason.
_ENDED = {
    "cancelled": "was cancelled before it finished (in AI Studio or through the API)",
    "requires_action": "stopped to wait for input (a tool result or a plan approval)"
                       " that this pipeline never gives",
    "incomplete": "stopped before finishing (an output limit): the report is incomplete",
    "budget_exceeded": "was halted because its token budget was exceeded",
}


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or error.get("status")
    return str(error)[:500] if error else "no reason given"


def _report(interaction: dict[str, Any]) -> tuple[str, list[Citation]]:
    """The last model output's text and the URLs it cites."""
    outputs = [step for step in interaction.get("steps") or []
               if isinstance(step, dict) and step.get("type") == "model_output"]
    blocks = [block for block in ((outputs[-1].get("content") or []) if outputs else [])
              if isinstance(block, dict) and block.get("type") == "text"]
    citations: list[Citation] = []
    seen: set[str] = set()
    for block in blocks:
        for note in block.get("annotations") or []:
            url = (note.get("url")
                   if isinstance(note, dict) and note.get("type") == "url_citation" else None)
            if url and url not in seen:
                seen.add(url)
                citations.append(Citation(title=note.get("title") or url, url=url))
    return "\n".join(str(block.get("text") or "") for block in blocks), citations


class GeminiDeepResearch:
    def __init__(self, api_key: str, provider_id: str, agent: str, assets: AssetsConfig, *,
                 base_url: str = DEFAULT_BASE_URL,
                 timeout_s: float = 60.0, max_attempts: int = 3, backoff_s: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = provider_id
        self._agent, self._assets = agent, assets
        self._http = RetryingClient(provider=f"Gemini Deep Research ({agent})",
                                    key_name="GEMINI_API_KEY", secret=api_key, base_url=base_url,
                                    headers={"x-goog-api-key": api_key,
                                             "Api-Revision": API_REVISION},
                                    timeout_s=timeout_s, max_attempts=max_attempts,
                                    backoff_s=backoff_s, sleep=sleep)

    def start(self, week_id: str, asof: datetime) -> ResearchStatus:
        prompt = research_prompt(week_id, asof, self._assets)
        try:
            body, raw = self._http.request("POST", "/interactions",
                                           json={"agent": self._agent, "input": prompt,
                                                 "background": True},
                                           resend_after_timeout=False)
        except ProviderError as exc:
            return ResearchStatus(state="failed", error=str(exc), prompt=prompt, raw=exc.raw)
        if not body.get("id"):
            return ResearchStatus(state="failed",
                                  error=f"{self.name}: the interaction came back without an id",
                                  prompt=prompt, raw=raw)
        return self._status(body, raw, week_id, asof, prompt=prompt)

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus:
        polled = poll(self._http, f"/interactions/{handle}", handle)
        if isinstance(polled, ResearchStatus):
            return polled
        body, raw = polled
        return self._status(body, raw, week_id, asof, handle=handle)

    def cancel(self, handle: str) -> str:
        """Ask Google to stop a background interaction still running past our deadline."""
        return cancel_job(self._http, f"/interactions/{handle}/cancel", f"interaction {handle}",
                          "Google")

    def _status(self, interaction: dict[str, Any], raw: str, week_id: str, asof: datetime, *,
                handle: str = "", prompt: str = "") -> ResearchStatus:
        handle = str(interaction.get("id") or handle)
        status = interaction.get("status")
        # queued: waiting for capacity (Agent Platform's enum)
        if status in ("in_progress", "queued"):
            return ResearchStatus(state="running", handle=handle, prompt=prompt, raw=raw)
        if status == "completed":
            text, citations = _report(interaction)
            try:
                if not text.strip():
                    raise InvalidResearch(f"{self.name}: completed without a text report")
                pack = pack_from_text(text, week_id=week_id, asof=asof,
                                      source=f"{self.name}:{self._agent}", assets=self._assets,
                                      citations=citations)
            except InvalidResearch as exc:
                return ResearchStatus(state="failed", handle=handle, error=str(exc),
                                      prompt=prompt, raw=raw)
            return ResearchStatus(state="completed", handle=handle, pack=pack, prompt=prompt,
                                  raw=raw)
        if status == "failed":
            why = f"failed: {_reason(interaction.get('error'))}"
        else:
            why = _ENDED.get(str(status), f"answered with an unknown status {status!r}")
        return ResearchStatus(state="failed", handle=handle,
                              error=f"{self.name}: interaction {handle} {why}",
                              prompt=prompt, raw=raw)
