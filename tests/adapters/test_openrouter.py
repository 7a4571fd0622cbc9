"""The OpenRouter client and research fallback, against respx routes shaped like OpenRouter's spec
and docs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import respx
from llmtrade.adapters.llm.openrouter import OpenRouterLLM, strict_schema
from llmtrade.adapters.research.openrouter import OpenRouterResearch
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.domain.universe import answer_schema
from llmtrade.ports import ChatMessage, LLMError, LLMRequest
from llmtrade.schemas import PitchAnswer

from tests.adapters.openrouter_examples import (
    ANNOTATIONS,
    MODEL,
    RESEARCH,
    completion,
    error,
)

BASE = "https://openrouter.ai/api/v1"
KEY = "sk-or-v1-test-secret-0123456789"
SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"


class RecordedSleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def llm(sleeps: RecordedSleeps) -> OpenRouterLLM:
    return OpenRouterLLM(KEY, sleep=sleeps, app_name="llmtrade",
                         referer="https://github.com/llmtrade")


@pytest.fixture
def chat() -> Iterator[respx.Route]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router.post("/chat/completions")


@pytest.fixture
def pitch_request(settings: Settings) -> LLMRequest:
    return LLMRequest(model=MODEL, messages=[ChatMessage(role="system", content="You are a PM."),
                                             ChatMessage(role="user", content="Pitch one trade.")],
                      schema_name="PitchAnswer",
                      json_schema=answer_schema(PitchAnswer, settings.assets.symbols))


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(route.calls[call].request.content))


# --------------------------------------------------------------------------- success
def test_success_sends_a_strict_schema_request_and_maps_the_answer(
        llm: OpenRouterLLM, chat: respx.Route, pitch_request: LLMRequest) -> None:
    body = completion()
    chat.respond(200, json=body)
    answer = llm.complete(pitch_request)

    request = chat.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["X-Title"] == "llmtrade" and request.headers["HTTP-Referer"]
    payload = sent(chat)
    assert payload["model"] == MODEL and payload["temperature"] == 0.2
    assert payload["messages"] == [{"role": "system", "content": "You are a PM."},
                                   {"role": "user", "content": "Pitch one trade."}]
    assert payload["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "PitchAnswer", "strict": True, "schema": strict_schema(pitch_request.json_schema)}}
    assert payload["provider"] == {"require_parameters": True}

    assert PitchAnswer.model_validate_json(answer.content).instrument == "SPY"
    assert (answer.model, answer.provider) == (MODEL, "OpenAI")
    assert (answer.prompt_tokens, answer.completion_tokens) == (1200, 340)
    assert answer.cost_usd == Decimal("0.004915")
    assert answer.attempts == 1 and not answer.offline and answer.latency_ms >= 0
    assert json.loads(answer.raw) == body


def test_upstream_inference_cost_is_used_when_cost_reads_zero(llm: OpenRouterLLM, chat: respx.Route,
                                                              pitch_request: LLMRequest) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0,
             "is_byok": True,
             "cost_details": {"upstream_inference_cost": 0.0123,
                              "upstream_inference_prompt_cost": 0.0023,
                              "upstream_inference_completions_cost": 0.01}}
    chat.respond(200, json=completion(usage=usage))
    assert llm.complete(pitch_request).cost_usd == Decimal("0.0123")


def test_content_given_as_text_parts_is_joined(llm: OpenRouterLLM, chat: respx.Route,
                                               pitch_request: LLMRequest) -> None:
    parts = [{"type": "text", "text": '{"instrument": "SPY", '},
             {"type": "text", "text": '"x": 1}'}]
    body = completion()
    body["choices"][0]["message"]["content"] = parts
    chat.respond(200, json=body)
    assert llm.complete(pitch_request).content == '{"instrument": "SPY", "x": 1}'


# --------------------------------------------------------------------------- retries
def test_429_is_retried_after_the_retry_after_delay(llm: OpenRouterLLM, chat: respx.Route,
                                                    sleeps: RecordedSleeps,
                                                    pitch_request: LLMRequest) -> None:
    chat.side_effect = [httpx.Response(429, json=error(429, "Rate limit exceeded"),
                                       headers={"Retry-After": "7"}),
                        httpx.Response(200, json=completion())]
    answer = llm.complete(pitch_request)
    assert answer.attempts == 2 and sleeps == [7.0] and chat.call_count == 2


def test_5xx_retries_are_bounded_and_end_in_an_error_with_the_status(
        llm: OpenRouterLLM, chat: respx.Route, sleeps: RecordedSleeps,
        pitch_request: LLMRequest) -> None:
    chat.respond(502, json=error(502, "Provider returned error",
                                 {"provider_name": "OpenAI", "raw": "upstream"}))
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request)
    assert chat.call_count == 4 and failed.value.attempts == 4 and failed.value.status == 502
    assert sleeps == [2.0, 4.0, 8.0]  # exponential backoff between the four attempts
    assert ("HTTP 502: Provider returned error (provider OpenAI)" in str(failed.value)
            and MODEL in str(failed.value))
    assert json.loads(failed.value.raw)["error"]["code"] == 502


def test_a_timeout_is_retried(llm: OpenRouterLLM, chat: respx.Route, sleeps: RecordedSleeps,
                              pitch_request: LLMRequest) -> None:
    chat.side_effect = [httpx.ReadTimeout("read timed out"), httpx.Response(200, json=completion())]
    answer = llm.complete(pitch_request)
    assert answer.attempts == 2 and len(sleeps) == 1


def test_timeouts_exhaust_the_attempts(llm: OpenRouterLLM, chat: respx.Route,
                                       pitch_request: LLMRequest) -> None:
    chat.side_effect = httpx.ConnectTimeout("connect timed out")
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request)
    assert chat.call_count == 4 and failed.value.attempts == 4 and failed.value.status is None
    assert "no answer within 120s" in str(failed.value)


def test_a_wait_past_the_total_budget_is_not_taken(chat: respx.Route, sleeps: RecordedSleeps,
                                                   pitch_request: LLMRequest) -> None:
    llm = OpenRouterLLM(KEY, sleep=sleeps, max_total_seconds=60)
    chat.respond(429, json=error(429, "Rate limit exceeded"), headers={"Retry-After": "600"})
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request)
    assert chat.call_count == 1 and sleeps == [] and "60s budget" in str(failed.value)


def test_an_endpoint_that_takes_no_temperature_is_asked_again_without_it(
        llm: OpenRouterLLM, chat: respx.Route, sleeps: RecordedSleeps,
        pitch_request: LLMRequest) -> None:
    chat.side_effect = [
        httpx.Response(404, json=error(
            404, "No endpoints found that can handle the requested parameters.")),
        httpx.Response(200, json=completion()),
    ]
    assert llm.complete(pitch_request).attempts == 2
    assert "temperature" in sent(chat, 0) and "temperature" not in sent(chat, 1) and sleeps == []


# ---------------------------------------------------------------------- errors that are not retried
def test_an_error_inside_an_http_200_is_an_error(llm: OpenRouterLLM, chat: respx.Route,
                                                 pitch_request: LLMRequest) -> None:
    body = {"id": "gen-1", "object": "chat.completion", "created": 1764080000, "model": MODEL,
            **error(400, "Provider returned error", {"provider_name": "OpenAI"})}
    chat.respond(200, json=body)
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request)
    assert (failed.value.status == 400 and failed.value.attempts == 1
            and json.loads(failed.value.raw) == body)


def test_a_choice_that_finished_with_an_error_is_an_error(llm: OpenRouterLLM, chat: respx.Route,
                                                          pitch_request: LLMRequest) -> None:
    body = completion()
    body["choices"][0].update(finish_reason="error",
                              error={"code": 400, "message": "context length exceeded"})
    chat.respond(200, json=body)
    with pytest.raises(LLMError, match="context length exceeded"):
        llm.complete(pitch_request)


def test_a_refusal_is_an_error(llm: OpenRouterLLM, chat: respx.Route,
                               pitch_request: LLMRequest) -> None:
    body = completion()
    body["choices"][0]["message"].update(content=None, refusal="I can't help with that.")
    chat.respond(200, json=body)
    with pytest.raises(LLMError, match="refused: I can't help with that") as failed:
        llm.complete(pitch_request)
    assert chat.call_count == 1 and failed.value.attempts == 1


def test_401_names_the_key_but_never_its_value(llm: OpenRouterLLM, chat: respx.Route,
                                               pitch_request: LLMRequest) -> None:
    chat.respond(401, json=error(401, f"Invalid API key {KEY}"))
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request)
    assert failed.value.status == 401 and chat.call_count == 1
    assert "OPENROUTER_API_KEY" in str(failed.value)
    assert KEY not in str(failed.value) and KEY not in failed.value.raw and KEY not in repr(llm)


def test_402_says_the_account_is_out_of_credits(llm: OpenRouterLLM, chat: respx.Route,
                                                pitch_request: LLMRequest) -> None:
    chat.respond(402, json=error(
        402, "Insufficient credits. Add more using https://openrouter.ai/credits"))
    with pytest.raises(LLMError, match="out of credits") as failed:
        llm.complete(pitch_request)
    assert failed.value.status == 402 and chat.call_count == 1


def test_403_moderation_gives_the_reasons(llm: OpenRouterLLM, chat: respx.Route,
                                          pitch_request: LLMRequest) -> None:
    chat.respond(403, json=error(403, "Input flagged by moderation", {
        "reasons": ["violence"], "flagged_input": "Pitch one trade.", "provider_name": "OpenAI",
        "model_slug": MODEL}))
    with pytest.raises(LLMError, match=r"moderation.*reasons: violence") as failed:
        llm.complete(pitch_request)
    assert failed.value.status == 403


@pytest.mark.parametrize(("status", "message"), [(404, "No endpoints found for openai/gpt-9."),
                                                 (400, "openai/gpt-9 is not a valid model ID")])
def test_an_unknown_model_names_the_slug(llm: OpenRouterLLM, chat: respx.Route,
                                         pitch_request: LLMRequest, status: int,
                                         message: str) -> None:
    chat.respond(status, json=error(status, message))
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request.model_copy(update={"model": "openai/gpt-9"}))
    assert "model 'openai/gpt-9'" in str(failed.value) and "config/models.yaml" in str(failed.value)
    assert failed.value.status == status and chat.call_count == 1


# --------------------------------------------------------------------------- research fallback
ASOF = datetime(2026, 11, 23, 18, 0, tzinfo=ET)


@pytest.fixture
def research(llm: OpenRouterLLM, settings: Settings) -> OpenRouterResearch:
    return OpenRouterResearch(llm, "openrouter-fallback", "openai/gpt-5.1:online", settings.assets)


def test_research_completes_with_the_sources_the_search_returned(research: OpenRouterResearch,
                                                                 chat: respx.Route) -> None:
    body = completion(json.dumps(RESEARCH))
    body["choices"][0]["message"]["annotations"] = ANNOTATIONS
    chat.respond(200, json=body)
    status = research.start("2026-11-23", ASOF)

    payload = sent(chat)
    assert (payload["model"] == "openai/gpt-5.1"
            and payload["tools"] == [{"type": "openrouter:web_search"}])
    assert payload["response_format"]["json_schema"]["name"] == "ResearchAnswer"
    assert (status.state == "completed" and status.cost_usd == Decimal("0.004915")
            and json.loads(status.raw) == body)
    assert "2026-11-23" in status.prompt and status.prompt == payload["messages"][0]["content"]
    pack = status.pack
    assert pack is not None
    assert pack.research_source == "openrouter-fallback" and pack.week_id == "2026-11-23"
    assert pack.tradable_candidates[0].instrument == "TLT"
    assert [(c.url, c.title, c.snippet) for c in pack.citations] == [
        ("https://www.federalreserve.gov/minutes", "FOMC minutes", "The Committee..."),
        ("https://www.reuters.com/markets/rates", "https://www.reuters.com/markets/rates", None)]


def test_research_with_an_invalid_answer_fails_with_the_reason(research: OpenRouterResearch,
                                                               chat: respx.Route) -> None:
    chat.respond(200, json=completion(json.dumps({**RESEARCH, "tradable_candidates": [
        {**RESEARCH["tradable_candidates"][0], "instrument": "TSLA"}]})))
    status = research.start("2026-11-23", ASOF)
    assert status.state == "failed" and status.pack is None
    assert status.error is not None
    assert "not a valid research pack" in status.error and "TSLA" in status.error
    assert status.cost_usd == Decimal("0.004915") and status.raw


def test_research_turns_a_provider_error_into_a_failed_status(research: OpenRouterResearch,
                                                              chat: respx.Route) -> None:
    chat.respond(402, json=error(402, "Insufficient credits"))
    status = research.start("2026-11-23", ASOF)
    assert status.error is not None
    assert status.state == "failed" and "out of credits" in status.error and status.raw


def test_research_has_nothing_to_poll(research: OpenRouterResearch) -> None:
    status = research.check("2026-11-23", ASOF, "handle-1")
    assert status.error is not None
    assert status.state == "failed" and "nothing to poll" in status.error


# --------------------------------------------------------------------- the fixture against the spec
def test_the_success_fixture_matches_the_spec_chat_result() -> None:
    spec_file = SPECS / "openrouter-openapi.yaml"
    if not spec_file.is_file():
        pytest.skip("shared/specs/openrouter-openapi.yaml is not present")
    import yaml

    schemas = yaml.load(
        spec_file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )["components"]["schemas"]
    body = completion()
    # returned by OpenRouter but not declared in the spec
    beyond_spec = {"ChatResult": {"provider"}}
    for name, part in [("ChatResult", body), ("ChatChoice", body["choices"][0]),
                       ("ChatAssistantMessage", body["choices"][0]["message"]),
                       ("ChatUsage", body["usage"]),
                       ("CostDetails", body["usage"]["cost_details"])]:
        declared = schemas[name]["properties"].keys() | beyond_spec.get(name, set())
        assert part.keys() <= declared, (name, part.keys() - declared)
        assert set(schemas[name].get("required", [])) <= part.keys(), name
    assert body["choices"][0]["finish_reason"] in schemas["ChatFinishReasonEnum"]["enum"]


@pytest.mark.parametrize("body", [
    {"choices": ["not an object"]},
    {"choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": "many"}},
    {"choices": [{"message": {"content": "{}"}}], "usage": {"cost": "free"}},
])
def test_a_200_of_the_wrong_shape_is_an_error_not_a_crash(llm: OpenRouterLLM, chat: respx.Route,
                                                          pitch_request: LLMRequest,
                                                          body: dict[str, Any]) -> None:
    chat.respond(200, json={"id": "gen-x", "model": pitch_request.model, **body})
    with pytest.raises(LLMError, match="unexpected shape"):
        llm.complete(pitch_request)


def test_a_paid_refusal_keeps_its_cost_for_the_budget(llm: OpenRouterLLM, chat: respx.Route,
                                                      pitch_request: LLMRequest) -> None:
    body = completion()
    body["choices"][0]["message"].update(content=None, refusal="No.")
    chat.respond(200, json=body)
    with pytest.raises(LLMError) as failed:
        llm.complete(pitch_request)
    assert failed.value.cost_usd == Decimal("0.004915")
