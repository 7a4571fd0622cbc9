"""OpenRouter's answers in the shapes of its spec (ChatResult, errors) and docs (web search
annotations), for the adapter tests."""

from __future__ import annotations

import json
from typing import Any

MODEL = "openai/gpt-5.1"
PITCH = {  # a valid PitchAnswer
    "instrument": "SPY", "direction": "LONG", "horizon": "1w",
    "thesis_bullets": ["breadth is improving"],
    "indicators": [{"name": "SPY holds", "measure": "week_return_pct", "instrument": "SPY",
                    "comparison": ">", "threshold": 0.5, "role": "confirms"}],
    "invalidation": "SPY loses 2% on the week", "conviction": 1,
}


def completion(content: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A non-streaming chat completion as OpenRouter returns it (ChatResult, plus the `provider`
    it adds)."""
    body: dict[str, Any] = {
        "id": "gen-1764080000-AbCdEf", "provider": "OpenAI", "model": MODEL,
        "object": "chat.completion", "created": 1764080000, "system_fingerprint": None,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": {
            "role": "assistant", "content": json.dumps(PITCH) if content is None else content,
            "refusal": None}}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 340, "total_tokens": 1540,
                  "cost": 0.004915, "is_byok": False,
                  "cost_details": {"upstream_inference_cost": None,
                                   "upstream_inference_prompt_cost": 0.0015,
                                   "upstream_inference_completions_cost": 0.0034}},
    }
    body.update(overrides)
    return body


def error(code: int, message: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      **({"metadata": metadata} if metadata else {})}}


# the research fallback's answer, and the url_citation annotations its web search adds
RESEARCH: dict[str, Any] = {
    "macro_regime": {"risk_mode": "mixed", "rates_impulse": "falling", "usd_impulse": "weaker",
                     "inflation_impulse": "stable", "growth_impulse": "slowing"},
    "top_narratives": [{"name": "Holiday-thinned liquidity",
                        "why_it_moves_prices_this_week": "Short week, thin books",
                        "key_catalysts_next_7d": ["FOMC minutes"],
                        "what_would_falsify_it": "Volumes stay normal"}],
    "consensus_map": {"street_consensus": "Soft landing", "positioning_guess": "Long duration",
                      "what_market_is_priced_for": "A December cut",
                      "what_would_surprise": "A hawkish hold"},
    "tradable_candidates": [{"instrument": "TLT", "directional_bias": "LONG",
                             "one_week_thesis": "Yields drift lower",
                             "primary_risks": ["hot data"], "watch_indicators": ["10y yield"],
                             "invalidation_rule": "10y above 4.5%"}],
    "event_calendar_next_7d": [{"date": "2026-11-25", "event": "FOMC minutes",
                                "why_it_matters": "Cut odds"}],
    "confidence_notes": {"known_unknowns": ["Shutdown-delayed data"], "data_quality_flags": []},
}
ANNOTATIONS = [
    {"type": "url_citation",
     "url_citation": {"url": "https://www.federalreserve.gov/minutes", "title": "FOMC minutes",
                      "content": "The Committee...", "start_index": 0, "end_index": 20}},
    {"type": "url_citation",
     "url_citation": {"url": "https://www.federalreserve.gov/minutes", "title": "again",
                      "start_index": 30, "end_index": 40}},
    {"type": "url_citation",
     "url_citation": {"url": "https://www.reuters.com/markets/rates", "title": "",
                      "start_index": 50, "end_index": 60}},
]
