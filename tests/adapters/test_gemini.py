"""GeminiDeepResearch against respx routes shaped like the Interactions API's documented responses.

Shapes: https://ai.google.dev/gemini-api/docs/deep-research (background start, poll by id),
https://ai.google.dev/gemini-api/docs/interactions-breaking-changes-may-2026 (`steps` with
`model_output` content replaced `outputs`; GET returns the whole timeline, user_input first) and
google-genai's generated types (interaction.py status values, text_content.py annotations,
url_citation.py {type, url, title, start_index, end_index}). Google API errors:
{"error": {"code", "message", "status"}}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import respx
from llmtrade.adapters.research.gemini import API_REVISION, GeminiDeepResearch
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.schemas import Citation

BASE = "https://generativelanguage.googleapis.com/v1beta"
KEY = "AIza-test-secret-value"
WEEK = "2026-11-25"
ASOF = datetime(2026, 11, 25, 8, 0, tzinfo=ET)
ID = "v1_ChdEUjBfUXdHZG9MMnZqT0FQMHFDWTZRRRIXRFIwX1F3R2RvTDJ2ak9BUDBxQ1k2UUU"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def agent_id(settings: Settings) -> str:
    agent = next(p.agent for p in settings.models.research_providers
                 if p.kind == "gemini_deep_research")
    assert agent
    return agent


def provider(settings: Settings) -> GeminiDeepResearch:
    return GeminiDeepResearch(KEY, "gemini-deep-research", agent_id(settings), settings.assets,
                              sleep=lambda _: None)


def interaction(status: str, steps: list[dict[str, Any]] | None = None,
                **extra: Any) -> dict[str, Any]:
    return {"id": ID, "status": status, "agent": "deep-research-preview-04-2026",
            "role": "model", "created": "2026-11-25T13:00:02Z", "updated": "2026-11-25T13:21:40Z",
            "steps": steps or [], **extra}


def report(text: str, *urls: str) -> list[dict[str, Any]]:
    """The timeline of a finished research: the prompt, a thought, then the report citing `urls`."""
    notes = [{"type": "url_citation", "url": url, "title": f"Source {i}", "start_index": 10 * i,
              "end_index": 10 * i + 9} for i, url in enumerate(urls)]
    return [
        {"type": "user_input",
         "content": [{"type": "text", "text": "Research ... answer with ONE JSON object {}"}]},
        {"type": "thought",
         "summary": [{"type": "text", "text": "Planning searches on {rates} and {oil}"}]},
        {"type": "model_output",
         "content": [{"type": "text", "text": text, "annotations": notes}]},
    ]


def test_start_runs_the_configured_agent_in_the_background(settings: Settings,
                                                           api: respx.MockRouter) -> None:
    route = api.post("/interactions").respond(200, json=interaction("in_progress"))

    status = provider(settings).start(WEEK, ASOF)

    assert (status.state, status.handle) == ("running", ID) and status.pack is None
    sent = route.calls.last.request
    body = json.loads(sent.content)
    assert body == {"agent": agent_id(settings), "input": status.prompt, "background": True}
    assert WEEK in status.prompt
    assert sent.headers["x-goog-api-key"] == KEY and sent.headers["api-revision"] == API_REVISION


def test_check_in_progress_stays_running(settings: Settings, api: respx.MockRouter) -> None:
    route = api.get(f"/interactions/{ID}").respond(200, json=interaction("in_progress"))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert (status.state, status.handle) == ("running", ID) and route.call_count == 1


def test_completed_report_with_a_fenced_json_becomes_a_pack_with_citations(
        settings: Settings, api: respx.MockRouter, answer: dict[str, Any]) -> None:
    text = ("# Weekly macro research\n\n"
            "Rates fell after soft CPI [1]; oil rallied on supply cuts [2].\n\n"
            f"```json\n{json.dumps(answer, indent=2)}\n```\n\nSources are listed above.")
    steps = report(text, "https://www.bls.gov/cpi", "https://www.opec.org/news",
                   "https://www.bls.gov/cpi")
    api.get(f"/interactions/{ID}").respond(200, json=interaction(
        "completed", steps, usage={"total_input_tokens": 180000, "total_output_tokens": 9000}))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert status.state == "completed", status.error
    pack = status.pack
    assert pack is not None and pack.week_id == WEEK
    assert pack.research_source == f"gemini-deep-research:{agent_id(settings)}"
    assert pack.macro_regime.model_dump() == answer["macro_regime"]
    assert pack.citations == [Citation(title="Source 0", url="https://www.bls.gov/cpi"),
                              Citation(title="Source 1", url="https://www.opec.org/news")]
    assert ID in status.raw


def test_a_failed_interaction_fails_with_its_reason(settings: Settings,
                                                    api: respx.MockRouter) -> None:
    api.get(f"/interactions/{ID}").respond(200, json=interaction(
        "failed", error={"code": 500, "message": "Research could not be completed"}))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert status.error is not None
    assert (status.state == "failed" and "Research could not be completed" in status.error
            and ID in status.error)


def test_a_cancelled_interaction_fails(settings: Settings, api: respx.MockRouter) -> None:
    api.get(f"/interactions/{ID}").respond(200, json=interaction("cancelled"))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert status.error is not None
    assert status.state == "failed" and "cancelled" in status.error


def test_requires_action_fails_instead_of_waiting_forever(settings: Settings,
                                                          api: respx.MockRouter) -> None:
    api.get(f"/interactions/{ID}").respond(200, json=interaction("requires_action"))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert status.error is not None
    assert status.state == "failed" and "wait for input" in status.error


@pytest.mark.parametrize(("code", "google_status"),
                         [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")])
def test_a_refused_key_names_gemini_api_key_never_its_value(settings: Settings,
                                                            api: respx.MockRouter, code: int,
                                                            google_status: str) -> None:
    route = api.post("/interactions").respond(code, json={"error": {
        "code": code, "message": "The caller does not have permission", "status": google_status}})

    status = provider(settings).start(WEEK, ASOF)

    assert status.state == "failed" and route.call_count == 1
    assert status.error is not None
    assert "GEMINI_API_KEY" in status.error and f"HTTP {code}" in status.error
    assert KEY not in status.error and KEY not in status.raw


def test_an_invalid_key_reported_as_400_also_names_the_variable(settings: Settings,
                                                                api: respx.MockRouter) -> None:
    api.post("/interactions").respond(400, json={"error": {
        "code": 400, "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT"}})

    status = provider(settings).start(WEEK, ASOF)

    assert status.error is not None
    assert status.state == "failed" and "GEMINI_API_KEY" in status.error


def test_a_symbol_outside_the_universe_fails(settings: Settings, api: respx.MockRouter,
                                             answer: dict[str, Any]) -> None:
    candidate = {**answer["tradable_candidates"][0], "instrument": "TSLA"}
    outside = {**answer, "tradable_candidates": [candidate]}
    api.get(f"/interactions/{ID}").respond(200, json=interaction(
        "completed", report(f"Report.\n```json\n{json.dumps(outside)}\n```")))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert status.state == "failed" and status.pack is None
    assert status.error is not None
    assert "TSLA" in status.error and "not in the universe" in status.error


def test_a_completed_interaction_without_a_report_fails(settings: Settings,
                                                        api: respx.MockRouter) -> None:
    api.get(f"/interactions/{ID}").respond(200, json=interaction("completed", report("")[:2]))

    status = provider(settings).check(WEEK, ASOF, ID)

    assert status.error is not None
    assert status.state == "failed" and "without a text report" in status.error


def test_the_configured_agent_is_the_current_one(settings: Settings) -> None:
    # the April 2026 agents replaced deep-research-pro-preview-12-2025
    assert agent_id(settings) == "deep-research-preview-04-2026"


@pytest.mark.parametrize("status", ["paused", "expired", "", None])
def test_an_unknown_status_is_a_terminal_failure(settings: Settings, api: respx.MockRouter,
                                                 status: str | None) -> None:
    api.get(f"/interactions/{ID}").respond(200, json=interaction("x") | {"status": status})

    checked = provider(settings).check(WEEK, ASOF, ID)

    assert checked.state == "failed" and checked.error is not None
    assert "unknown status" in checked.error


def test_an_interaction_past_the_deadline_is_cancelled(settings: Settings,
                                                       api: respx.MockRouter) -> None:
    route = api.post(f"/interactions/{ID}/cancel").respond(200, json=interaction("cancelled"))

    note = provider(settings).cancel(ID)

    assert route.call_count == 1 and route.calls.last.request.content == b""
    assert "cancelled" in note and ID in note


def test_a_cancel_refused_says_so_and_never_raises(settings: Settings,
                                                   api: respx.MockRouter) -> None:
    api.post(f"/interactions/{ID}/cancel").respond(
        400, json={"error": {"code": 400, "message": "Interaction is not running",
                             "status": "FAILED_PRECONDITION"}})

    note = provider(settings).cancel(ID)

    assert "failed" in note and "not running" in note
