"""PerplexityResearch against respx routes shaped like Perplexity's documented responses.

Chat completion and async job shapes: https://docs.perplexity.ai/api-reference/async-sonar-post
and https://docs.perplexity.ai/api-reference/async-sonar-api-request-get (the async `response` is
the chat completion: choices, usage.cost.total_cost, citations, search_results). <think> before JSON
for reasoning models: https://docs.perplexity.ai/faq/faq.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from llmtrade.adapters.research.perplexity import PerplexityResearch
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import Citation

BASE = "https://api.perplexity.ai"
KEY = "pplx-test-secret-value"
WEEK = "2026-11-25"
ASOF = datetime(2026, 11, 25, 8, 0, tzinfo=ET)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def provider(settings: Settings, sleeps: list[float],
             model: str = "sonar-pro") -> PerplexityResearch:
    return PerplexityResearch(KEY, "perplexity", model, settings.assets, sleep=sleeps.append)


def completion(content: str, *, cost: float = 0.0123) -> dict[str, Any]:
    return {
        "id": "cmpl-1", "model": "sonar-pro", "created": 1764075600, "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 1200, "total_tokens": 2100,
                  "search_context_size": "low", "citation_tokens": 0, "num_search_queries": 1,
                  "cost": {"input_tokens_cost": 0.0027, "output_tokens_cost": 0.018,
                           "request_cost": 0.006, "total_cost": cost}},
        "citations": ["https://www.federalreserve.gov/fomc", "https://www.bls.gov/cpi"],
        "search_results": [{"title": "FOMC calendar", "url": "https://www.federalreserve.gov/fomc",
                            "date": "2026-11-20", "last_updated": "2026-11-21",
                            "snippet": "Meeting Dec 9-10", "source": "web"}],
    }


def test_sync_answer_becomes_a_pack_with_sources_and_cost(settings: Settings, api: respx.MockRouter,
                                                          sleeps: list[float],
                                                          answer: dict[str, Any]) -> None:
    route = api.post("/chat/completions").respond(200, json=completion(json.dumps(answer)))

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "completed", status.error
    assert status.cost_usd == Decimal("0.0123")
    pack = status.pack
    assert (pack is not None and pack.week_id == WEEK
            and pack.research_source == "perplexity:sonar-pro")
    assert pack.tradable_candidates[0].instrument == answer["tradable_candidates"][0]["instrument"]
    assert pack.citations == [
        Citation(title="FOMC calendar", url="https://www.federalreserve.gov/fomc",
                 date="2026-11-20", snippet="Meeting Dec 9-10"),
        Citation(title="https://www.bls.gov/cpi", url="https://www.bls.gov/cpi"),
    ]
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(sent.content)
    assert body["model"] == "sonar-pro" and body["messages"][0]["role"] == "user"
    assert (WEEK in body["messages"][0]["content"]
            and status.prompt == body["messages"][0]["content"])
    schema_format = body["response_format"]
    assert (schema_format["type"] == "json_schema"
            and schema_format["json_schema"]["name"] == "ResearchAnswer")
    assert "SPY" in json.dumps(schema_format["json_schema"]["schema"])
    assert "total_cost" in status.raw and sleeps == []


def test_429_is_retried_after_the_advertised_wait(settings: Settings, api: respx.MockRouter,
                                                  sleeps: list[float],
                                                  answer: dict[str, Any]) -> None:
    route = api.post("/chat/completions").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"},
                       json={"error": {"message": "rate limited"}}),
        httpx.Response(200, json=completion(json.dumps(answer))),
    ])

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "completed", status.error
    assert route.call_count == 2 and sleeps == [7.0]


def test_5xx_until_the_attempts_run_out_fails_with_the_reason(settings: Settings,
                                                              api: respx.MockRouter,
                                                              sleeps: list[float]) -> None:
    route = api.post("/chat/completions").respond(503, json={"error": {"message": "overloaded"}})

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "failed" and status.pack is None
    assert route.call_count == 3 and sleeps == [2.0, 4.0]
    assert status.error is not None
    assert ("HTTP 503" in status.error and "overloaded" in status.error
            and "3 attempts" in status.error)
    assert "overloaded" in status.raw and status.prompt


def test_a_rejected_key_names_the_variable_never_the_value(settings: Settings,
                                                           api: respx.MockRouter,
                                                           sleeps: list[float]) -> None:
    route = api.post("/chat/completions").respond(
        401, json={"error": {"message": f"Invalid key {KEY}"}})

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "failed" and route.call_count == 1
    assert status.error is not None
    assert "PERPLEXITY_API_KEY" in status.error
    assert KEY not in status.error and KEY not in status.raw


def test_an_answer_that_does_not_validate_fails_with_the_reason(
        settings: Settings, api: respx.MockRouter, sleeps: list[float],
        answer: dict[str, Any]) -> None:
    incomplete = {name: value for name, value in answer.items() if name != "consensus_map"}
    api.post("/chat/completions").respond(200, json=completion(json.dumps(incomplete)))

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "failed" and status.pack is None
    assert status.error is not None
    assert "consensus_map" in status.error and "not a valid research pack" in status.error
    assert status.cost_usd == Decimal("0.0123")  # the call was paid for all the same


def test_a_reasoning_model_think_section_is_cut_off_before_the_json(
        settings: Settings, api: respx.MockRouter, sleeps: list[float],
        answer: dict[str, Any]) -> None:
    thinking = ('<think>\nThe user wants {"macro_regime": ...}; '
                'rates fell, so {risk_on?}\n</think>\n')
    api.post("/chat/completions").respond(200, json=completion(thinking + json.dumps(answer)))

    status = provider(settings, sleeps, "sonar-reasoning-pro").start(WEEK, ASOF)

    assert status.state == "completed", status.error
    assert (status.pack is not None
            and status.pack.research_source == "perplexity:sonar-reasoning-pro")


def test_deep_research_runs_as_a_job_polled_until_completed(
        settings: Settings, api: respx.MockRouter, sleeps: list[float],
        answer: dict[str, Any]) -> None:
    created = api.post("/v1/async/sonar").respond(200, json={
        "id": "req-42", "model": "sonar-deep-research", "created_at": 1764075600,
        "status": "CREATED"})
    poll = api.get("/v1/async/sonar/req-42").mock(side_effect=[
        httpx.Response(200, json={"id": "req-42", "model": "sonar-deep-research",
                                  "created_at": 1764075600, "started_at": 1764075610,
                                  "status": "IN_PROGRESS"}),
        httpx.Response(200, json={"id": "req-42", "model": "sonar-deep-research",
                                  "created_at": 1764075600, "started_at": 1764075610,
                                  "completed_at": 1764076800, "status": "COMPLETED",
                                  "response": completion("<think>plan</think>" + json.dumps(answer),
                                                         cost=1.25)}),
    ])
    research = provider(settings, sleeps, "sonar-deep-research")

    started = research.start(WEEK, ASOF)
    assert (started.state, started.handle) == ("running", "req-42") and started.prompt
    request = json.loads(created.calls.last.request.content)["request"]
    assert (request["model"] == "sonar-deep-research"
            and request["response_format"]["type"] == "json_schema")

    assert research.check(WEEK, ASOF, "req-42").state == "running"
    done = research.check(WEEK, ASOF, "req-42")
    assert done.state == "completed", done.error
    assert done.cost_usd == Decimal("1.25") and done.handle == "req-42"
    assert done.pack is not None and done.pack.citations[0].title == "FOMC calendar"
    assert poll.call_count == 2


def test_a_failed_deep_research_job_fails_with_its_message(settings: Settings,
                                                           api: respx.MockRouter,
                                                           sleeps: list[float]) -> None:
    api.get("/v1/async/sonar/req-42").respond(200, json={
        "id": "req-42", "model": "sonar-deep-research", "created_at": 1764075600,
        "failed_at": 1764076000, "status": "FAILED", "error_message": "Request timed out upstream"})

    status = provider(settings, sleeps, "sonar-deep-research").check(WEEK, ASOF, "req-42")

    assert status.error is not None
    assert (status.state == "failed" and "Request timed out upstream" in status.error
            and "req-42" in status.error)


def test_a_poll_that_cannot_get_through_keeps_the_job_running(settings: Settings,
                                                              api: respx.MockRouter,
                                                              sleeps: list[float]) -> None:
    api.get("/v1/async/sonar/req-42").respond(502, text="Bad Gateway")

    status = provider(settings, sleeps, "sonar-deep-research").check(WEEK, ASOF, "req-42")

    assert status.error is not None
    assert (status.state, status.handle) == ("running", "req-42") and "HTTP 502" in status.error


def test_starting_a_job_is_not_resent_after_a_read_timeout(settings: Settings,
                                                           api: respx.MockRouter,
                                                           sleeps: list[float]) -> None:
    route = api.post("/v1/async/sonar").mock(side_effect=httpx.ReadTimeout("slow"))

    status = provider(settings, sleeps, "sonar-deep-research").start(WEEK, ASOF)

    assert status.error is not None
    assert status.state == "failed" and route.call_count == 1 and "may have started" in status.error
