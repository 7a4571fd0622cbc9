"""PerplexityResearch against respx routes shaped like Perplexity's documented Agent API.

Response shapes: https://docs.perplexity.ai/api-reference/agent-post and .../agent-get, the
background mode guide (https://docs.perplexity.ai/docs/agent-api/background-mode) and the generated
SDK types (perplexity-py: response_create_response, output_item, content_part, responses_usage):
{id, object: response, created_at, model, status, output: [search_results | message items], usage:
{input_tokens, output_tokens, total_tokens, cost: {currency, input_cost, output_cost, total_cost}}}.
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
             model: str = "pro-search") -> PerplexityResearch:
    return PerplexityResearch(KEY, "perplexity", model, settings.assets, sleep=sleeps.append)


def running(status: str = "in_progress", response_id: str = "resp-42") -> dict[str, Any]:
    return {"id": response_id, "object": "response", "created_at": 1764075600,
            "model": "perplexity/sonar", "status": status, "background": True, "output": []}


def completion(content: str, *, cost: float = 0.0123,
               response_id: str = "resp-1") -> dict[str, Any]:
    """A completed Agent API response: the search results, then the message citing them."""
    return {
        "id": response_id, "object": "response", "created_at": 1764075600,
        "model": "perplexity/sonar", "status": "completed",
        "output": [
            {"type": "search_results", "queries": ["FOMC December 2026"],
             "results": [{"id": 1, "title": "FOMC calendar",
                          "url": "https://www.federalreserve.gov/fomc", "date": "2026-11-20",
                          "last_updated": "2026-11-21", "snippet": "Meeting Dec 9-10",
                          "source": "web"}]},
            {"type": "message", "id": "msg-1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": content, "annotations": [
                 {"type": "url_citation", "url": "https://www.bls.gov/cpi", "title": "CPI",
                  "start_index": 0, "end_index": 1},
                 {"type": "url_citation", "url": "https://www.federalreserve.gov/fomc",
                  "start_index": 0, "end_index": 1}]}]},
        ],
        "usage": {"input_tokens": 900, "output_tokens": 1200, "total_tokens": 2100,
                  "cost": {"currency": "USD", "input_cost": 0.0027, "output_cost": 0.018,
                           "tool_calls_cost": 0.006, "total_cost": cost},
                  "tool_calls_details": {"web_search": {"invocation": 1}}},
    }


def test_sync_answer_becomes_a_pack_with_sources_and_cost(settings: Settings, api: respx.MockRouter,
                                                          sleeps: list[float],
                                                          answer: dict[str, Any]) -> None:
    route = api.post("/v1/agent").respond(200, json=completion(json.dumps(answer)))

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "completed", status.error
    assert status.cost_usd == Decimal("0.0123")
    pack = status.pack
    assert (pack is not None and pack.week_id == WEEK
            and pack.research_source == "perplexity:pro-search")
    assert pack.tradable_candidates[0].instrument == answer["tradable_candidates"][0]["instrument"]
    assert pack.citations == [
        Citation(title="FOMC calendar", url="https://www.federalreserve.gov/fomc",
                 date="2026-11-20", snippet="Meeting Dec 9-10"),
        Citation(title="CPI", url="https://www.bls.gov/cpi"),
    ]
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(sent.content)
    # a preset brings its own model and search tools, and a quick one answers in the request
    assert body["preset"] == "pro-search" and "model" not in body and "background" not in body
    assert WEEK in body["input"] and status.prompt == body["input"]
    schema_format = body["response_format"]
    assert (schema_format["type"] == "json_schema"
            and schema_format["json_schema"]["name"] == "ResearchAnswer")
    assert "SPY" in json.dumps(schema_format["json_schema"]["schema"])
    assert "total_cost" in status.raw and sleeps == []


def test_a_model_id_is_sent_as_a_model_with_the_web_search_tool(
        settings: Settings, api: respx.MockRouter, sleeps: list[float],
        answer: dict[str, Any]) -> None:
    route = api.post("/v1/agent").respond(200, json=completion(json.dumps(answer)))

    status = provider(settings, sleeps, "perplexity/sonar").start(WEEK, ASOF)

    assert status.state == "completed", status.error
    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "perplexity/sonar" and "preset" not in body
    assert body["tools"] == [{"type": "web_search"}]


def test_new_and_absent_fields_never_break_the_answer(settings: Settings, api: respx.MockRouter,
                                                      sleeps: list[float],
                                                      answer: dict[str, Any]) -> None:
    response = completion(json.dumps(answer))
    del response["usage"], response["output"][0]
    response["output"].insert(0, {"type": "fetch_url_results", "contents": []})
    response["reasoning_summary"] = {"new": "field"}
    api.post("/v1/agent").respond(200, json=response)

    status = provider(settings, sleeps).start(WEEK, ASOF)

    assert status.state == "completed", status.error
    assert status.cost_usd == 0 and status.pack is not None
    assert [c.url for c in status.pack.citations] == ["https://www.bls.gov/cpi",
                                                      "https://www.federalreserve.gov/fomc"]


def test_429_is_retried_after_the_advertised_wait(settings: Settings, api: respx.MockRouter,
                                                  sleeps: list[float],
                                                  answer: dict[str, Any]) -> None:
    route = api.post("/v1/agent").mock(side_effect=[
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
    route = api.post("/v1/agent").respond(503, json={"error": {"message": "overloaded"}})

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
    route = api.post("/v1/agent").respond(
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
    api.post("/v1/agent").respond(200, json=completion(json.dumps(incomplete)))

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
    api.post("/v1/agent").respond(200, json=completion(thinking + json.dumps(answer)))

    status = provider(settings, sleeps, "perplexity/sonar-reasoning-pro").start(WEEK, ASOF)

    assert status.state == "completed", status.error
    assert (status.pack is not None
            and status.pack.research_source == "perplexity:perplexity/sonar-reasoning-pro")


def test_deep_research_runs_in_the_background_polled_until_completed(
        settings: Settings, api: respx.MockRouter, sleeps: list[float],
        answer: dict[str, Any]) -> None:
    created = api.post("/v1/agent").respond(200, json=running("queued"))
    poll = api.get("/v1/agent/resp-42").mock(side_effect=[
        httpx.Response(200, json=running("in_progress")),
        httpx.Response(200, json=completion("<think>plan</think>" + json.dumps(answer),
                                            cost=1.25, response_id="resp-42")),
    ])
    research = provider(settings, sleeps, "deep-research")

    started = research.start(WEEK, ASOF)
    assert (started.state, started.handle) == ("running", "resp-42") and started.prompt
    request = json.loads(created.calls.last.request.content)
    assert (request["preset"] == "deep-research" and request["background"] is True
            and request["response_format"]["type"] == "json_schema")

    assert research.check(WEEK, ASOF, "resp-42").state == "running"
    done = research.check(WEEK, ASOF, "resp-42")
    assert done.state == "completed", done.error
    assert done.cost_usd == Decimal("1.25") and done.handle == "resp-42"
    assert done.pack is not None and done.pack.citations[0].title == "FOMC calendar"
    assert poll.call_count == 2


@pytest.mark.parametrize(("status", "reason"), [
    ("failed", "Request timed out upstream"),
    ("cancelled", "cancelled"),
    ("requires_action", "tool result"),
    ("expired", "unknown status 'expired'"),  # a status this adapter does not know ends the wait
])
def test_a_run_that_ends_without_an_answer_fails_with_its_reason(
        settings: Settings, api: respx.MockRouter, sleeps: list[float], status: str,
        reason: str) -> None:
    api.get("/v1/agent/resp-42").respond(200, json={
        **running(status), "error": {"code": "timeout", "message": "Request timed out upstream"}})

    checked = provider(settings, sleeps, "deep-research").check(WEEK, ASOF, "resp-42")

    assert checked.state == "failed" and checked.error is not None
    assert reason in checked.error and "resp-42" in checked.error


def test_a_run_past_the_deadline_is_cancelled(settings: Settings, api: respx.MockRouter,
                                              sleeps: list[float]) -> None:
    route = api.post("/v1/agent/resp-42/cancel").respond(200, json={"id": "resp-42",
                                                                   "status": "cancelling"})

    note = provider(settings, sleeps, "deep-research").cancel("resp-42")

    assert route.call_count == 1 and "cancelled" in note


def test_a_cancel_that_fails_says_so_and_never_raises(settings: Settings, api: respx.MockRouter,
                                                      sleeps: list[float]) -> None:
    api.post("/v1/agent/resp-42/cancel").respond(404, json={"error": {"message": "not found"}})

    note = provider(settings, sleeps, "deep-research").cancel("resp-42")

    assert "failed" in note and "not found" in note


def test_a_poll_that_cannot_get_through_keeps_the_job_running(settings: Settings,
                                                              api: respx.MockRouter,
                                                              sleeps: list[float]) -> None:
    api.get("/v1/agent/resp-42").respond(502, text="Bad Gateway")

    status = provider(settings, sleeps, "deep-research").check(WEEK, ASOF, "resp-42")

    assert status.error is not None
    assert (status.state, status.handle) == ("running", "resp-42") and "HTTP 502" in status.error


def test_starting_a_job_is_not_resent_after_a_read_timeout(settings: Settings,
                                                           api: respx.MockRouter,
                                                           sleeps: list[float]) -> None:
    route = api.post("/v1/agent").mock(side_effect=httpx.ReadTimeout("slow"))

    status = provider(settings, sleeps, "deep-research").start(WEEK, ASOF)

    assert status.error is not None
    assert status.state == "failed" and route.call_count == 1 and "may have started" in status.error
