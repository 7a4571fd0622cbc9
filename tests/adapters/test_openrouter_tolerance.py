"""OpenRouter answers read as the spec's ChatResult defines them: what OpenRouter adds beyond the
spec (`provider`, `choices[].error`, an `error` in a 200, `message.annotations`) is tolerated,
never required, and fields it has not sent before break nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx
from llmtrade.adapters.llm.openrouter import OpenRouterLLM
from llmtrade.ports import ChatMessage, LLMRequest

from tests.adapters.openrouter_examples import MODEL, completion

BASE = "https://gateway.example.com/openrouter/v1"  # a configured gateway, not OpenRouter itself
KEY = "sk-or-v1-tolerance-secret-0123"
METADATA = {"requested": MODEL, "strategy": "direct", "region": "iad", "attempt": 1,
            "summary": "available=2, selected=Azure", "is_byok": False,
            "endpoints": {"total": 2, "available": [
                {"model": MODEL, "provider": "OpenAI", "selected": False},
                {"model": MODEL, "provider": "Azure", "selected": True}]}}
REQUEST = LLMRequest(model=MODEL, messages=[ChatMessage(role="user", content="Pitch.")],
                     schema_name="PitchAnswer", json_schema={"type": "object"})


@pytest.fixture
def chat() -> Iterator[respx.Route]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router.post("/chat/completions")


def llm() -> OpenRouterLLM:
    return OpenRouterLLM(KEY, base_url=BASE, sleep=_no_sleep)


def _no_sleep(seconds: float) -> None:
    return None


def spec_only(**overrides: Any) -> dict[str, Any]:
    """A ChatResult with only what the spec defines: no `provider`, no annotations."""
    body = completion(**overrides)
    del body["provider"]
    return body


def test_the_serving_provider_is_read_from_the_specs_openrouter_metadata(
        chat: respx.Route) -> None:
    chat.respond(200, json=spec_only(openrouter_metadata=METADATA))
    answer = llm().complete(REQUEST)
    assert answer.provider == "Azure" and answer.model == MODEL
    assert str(chat.calls.last.request.url) == f"{BASE}/chat/completions"


def test_an_answer_with_none_of_the_extras_is_read(chat: respx.Route) -> None:
    body = spec_only()
    body["usage"] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    del body["choices"][0]["logprobs"], body["choices"][0]["message"]["refusal"]
    chat.respond(200, json=body)
    answer = llm().complete(REQUEST)
    assert answer.provider is None and answer.cost_usd == 0 and answer.content


def test_fields_never_seen_before_break_nothing(chat: respx.Route) -> None:
    body = completion(service_tier="flex", openrouter_metadata={"new": ["shape"]},
                      brand_new={"nested": True})
    body["choices"][0]["message"] |= {"reasoning_details": [{"type": "reasoning.text"}],
                                      "annotations": "not a list"}
    body["usage"] |= {"server_tool_use_details": {"web_search_requests": 1}}
    chat.respond(200, json=body)
    answer = llm().complete(REQUEST)
    assert answer.provider == "OpenAI" and answer.content
