"""A whole week in live mode, every provider answered through its documented HTTP shapes (respx).

OpenRouter answers the council (valid answers generated from the schema each request asks for),
Perplexity and Gemini Deep Research produce the research (Gemini runs in the background and is
polled), and a fake Alpaca paper server backed by the simulated broker takes the orders and serves
prices. What is checked is what a user relies on: the events say what each model saw, said and
cost; the orders reached the broker once; a rerun calls no provider and places no order.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import respx
from llmtrade.adapters.broker.alpaca import AlpacaBroker, AlpacaMarketData
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.llm.offline import OfflineLLM
from llmtrade.adapters.store.secrets import required_keys
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.domain.universe import answer_schema
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.ports import ChatMessage, LLMRequest, RunRefused
from llmtrade.run_keys import WeekRun
from llmtrade.schemas import (
    SHARED_ACCOUNT,
    ChairmanAnswer,
    EventKind,
    PitchAnswer,
    PitchReview,
    ResearchAnswer,
    ResearchPack,
)
from llmtrade.services import Services
from llmtrade.steps.research import research_start
from llmtrade.steps.summary import project_week
from llmtrade.wiring import live_services
from llmtrade.workflow import CHECKPOINT, WEEKLY
from pydantic import BaseModel, create_model

from tests.adapters.fake_alpaca import FakeAlpaca
from tests.adapters.openapi_requests import SPEC_BY_HOST, violations
from tests.adapters.test_gemini import interaction, report
from tests.adapters.test_perplexity import completion
from tests.conftest import WEEK

OPENROUTER = "https://openrouter.ai/api/v1/chat/completions"
PERPLEXITY = "https://api.perplexity.ai/v1/agent"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/interactions"
CALL_COST = Decimal("0.0123")

Live = tuple[Services, FakeAlpaca, list[datetime], respx.MockRouter]


class DictSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def full_schema(name: str, sent: dict[str, Any], symbols: list[str]) -> dict[str, Any]:
    """The complete schema behind a request's (strict, simplified) one, so generated answers
    validate."""
    if name == "PeerReviewAnswer":
        labels = list(sent["properties"])
        fields: dict[str, Any] = {label: (PitchReview, ...) for label in labels}
        return answer_schema(create_model("PeerReviewAnswer", **fields), symbols)
    known: dict[str, type[BaseModel]] = {"PitchAnswer": PitchAnswer,
                                         "ChairmanAnswer": ChairmanAnswer,
                                         "ResearchAnswer": ResearchAnswer}
    return answer_schema(known[name], symbols) if name in known else sent


def generated(model: str, messages: list[dict[str, str]], name: str,
              schema: dict[str, Any]) -> str:
    request = LLMRequest(model=model, messages=[ChatMessage(**m) for m in messages],
                         schema_name=name, json_schema=schema)
    return OfflineLLM().complete(request).content


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[Live]:
    settings = settings.model_copy(update={"models": settings.models.model_copy(update={
        "research": settings.models.research.model_copy(update={"poll_seconds": 1})})})
    keys = {name: f"test-key-{i}" for i, name in enumerate(required_keys(settings))}
    now = [datetime(2026, 11, 25, 8, 0, tzinfo=ET)]
    market = SimMarket(settings.assets)
    ledger = SqliteOrderLedger(tmp_path / "alpaca.sqlite")
    sim = SimBroker(market, ledger, starting_equity=100_000, min_equity_for_short=2000,
                    clock=lambda: now[0])
    credentials = {a.id: (keys[f"{a.key_env}_KEY_ID"], keys[f"{a.key_env}_SECRET_KEY"])
                   for a in settings.trading_accounts}
    store = SqliteEventStore(tmp_path / "events.sqlite")
    services = live_services(settings, DictSecrets(keys), store)
    market_data = AlpacaMarketData(settings.accounts.broker.data_url,
                                   cast(AlpacaBroker, services.broker_at(now[0])),
                                   settings.assets.symbols, account_id="council",
                                   clock=lambda: now[0])
    # the run happens at the fake now: a live run is forward-only
    services = dataclasses.replace(services, market=market_data, clock=lambda: now[0])
    symbols = settings.assets.symbols

    def openrouter(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        name = body["response_format"]["json_schema"]["name"]
        schema = full_schema(name, body["response_format"]["json_schema"]["schema"], symbols)
        content = generated(body["model"], body["messages"], name, schema)
        return httpx.Response(200, json={
            "id": "gen-1", "object": "chat.completion", "created": 1764075600,
            "model": body["model"], "provider": "Fake",
            "choices": [{"index": 0, "finish_reason": "stop", "native_finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                      "cost": float(CALL_COST)}})

    def perplexity(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        schema = full_schema("ResearchAnswer", {}, symbols)
        messages = [{"role": "user", "content": body["input"]}]
        return httpx.Response(200, json=completion(generated("perplexity/sonar", messages,
                                                             "ResearchAnswer", schema)))

    gemini_polls = iter(["in_progress", "completed"])

    def gemini_poll(request: httpx.Request) -> httpx.Response:
        status = next(gemini_polls, "completed")
        if status != "completed":
            return httpx.Response(200, json=interaction(status))
        answer = generated("deep-research", [{"role": "user", "content": "gemini"}],
                           "ResearchAnswer", full_schema("ResearchAnswer", {}, symbols))
        return httpx.Response(200, json=interaction(status, report(
            f"Findings.\n```json\n{answer}\n```", "https://www.example.org/macro")))

    with respx.mock(assert_all_called=False) as router:
        router.post(OPENROUTER).mock(side_effect=openrouter)
        router.post(PERPLEXITY).mock(side_effect=perplexity)
        router.post(GEMINI).respond(200, json=interaction("in_progress"))
        router.get(url__startswith=GEMINI + "/").mock(side_effect=gemini_poll)
        fake = FakeAlpaca(sim, market, credentials,
                          clock=lambda: now[0]).install(router).install_market_data(router)
        yield services, fake, now, router
    store.close()
    ledger.close()


def provider_calls(router: respx.MockRouter) -> int:
    return sum(1 for call in router.calls if "alpaca" not in call.request.url.host)


def test_a_live_week_reads_like_an_audit_and_a_rerun_calls_nobody(live: Live) -> None:
    services, fake, now, router = live
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    events = services.store.list_week(WEEK)
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.PITCH) == 4 and kinds.count(EventKind.PEER_REVIEW) == 4
    assert (kinds.count(EventKind.CHAIRMAN_DECISION) == 1
            and kinds.count(EventKind.MODEL_FAILURE) == 0)

    packs = {e.subject: e.parsed() for e in events if e.kind is EventKind.RESEARCH_PACK}
    assert set(packs) == {"perplexity", "gemini-deep-research"}  # the fallback was not needed
    assert packs["perplexity"].citations and packs["gemini-deep-research"].citations

    calls = [e.parsed() for e in events if e.kind is EventKind.LLM_CALL]
    assert len(calls) == 9 and all(not c.offline and c.cost_usd == CALL_COST for c in calls)
    for call in calls:  # what each model saw, said and cost
        assert (call.model_answered == call.model_requested and call.messages
                and call.response_text)
    summary_event = services.store.get(WEEK, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY)
    assert summary_event is not None
    summary = summary_event.parsed()
    assert not summary.offline and summary.llm_cost_usd == CALL_COST * 9

    orders = [e.parsed() for e in events if e.kind is EventKind.ORDER]
    assert {o.account_id for o in orders} == {a.id for a in services.settings.trading_accounts}
    placed = {a.id: fake.broker.orders(a.id) for a in services.settings.trading_accounts}
    # 08:00: queued, each entry's attached stop held until it fills
    assert all(o.status == ("held" if o.type == "stop" else "accepted")
               for orders_ in placed.values() for o in orders_)

    before = provider_calls(router)
    # a rerun: no model, no research, no order again
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    assert provider_calls(router) == before
    assert {a: fake.broker.orders(a) for a in placed} == placed
    assert services.store.list_week(WEEK) == events

    now[0] = datetime(2026, 11, 30, 12, 0, tzinfo=ET)
    run_workflow(CHECKPOINT, {"at": now[0].isoformat()}, services)
    updates = [e for e in services.store.list_week(WEEK)
               if e.kind is EventKind.CHECKPOINT_UPDATE]
    # no research or model mid-week
    assert len(updates) == 5 and provider_calls(router) == before
    finals = [e.parsed() for e in services.store.list_week(WEEK)
              if e.kind is EventKind.ORDER_FINAL]
    assert finals and all(f.broker_order.status == "filled" and f.broker_order.filled_avg_price
                          for f in finals)


def test_every_request_of_a_live_week_and_its_checkpoints_is_valid_by_the_official_specs(
        live: Live) -> None:
    services, _, now, router = live
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    for moment in (datetime(2026, 11, 27, 12, 0, tzinfo=ET),  # Black Friday's early close
                   datetime(2026, 11, 30, 12, 0, tzinfo=ET)):
        now[0] = moment
        run_workflow(CHECKPOINT, {"at": moment.isoformat()}, services)

    sent = [call.request for call in router.calls]
    hosts = {request.url.host for request in sent}
    assert set(SPEC_BY_HOST) <= hosts  # trading, market data and OpenRouter were all checked
    assert violations(sent) == []


def test_providers_that_echo_the_keys_leak_none_of_them(live: Live, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Alpaca refuses every order quoting the account's key pair; OpenRouter refuses the grok PM
    quoting its key. No key may reach an event, the store's files, a log, the output or a report."""
    from llmtrade.adapters.store.secrets import required_keys
    from llmtrade.reports.week import week_report_html

    services, _, now, router = live
    keys = [f"test-key-{i}" for i, _ in enumerate(required_keys(services.settings))]  # as `live`
    answer = cast(Callable[[httpx.Request], httpx.Response],
                  next(route.side_effect for route in router.routes
                       if route.pattern.match(httpx.Request("POST", OPENROUTER))))

    def echo_order(request: httpx.Request) -> httpx.Response:
        pair = f"{request.headers['APCA-API-KEY-ID']}:{request.headers['APCA-API-SECRET-KEY']}"
        return httpx.Response(403, json={"code": 40310000,
                                         "message": f"forbidden for key {pair}"})

    def echo_grok(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["model"] != "x-ai/grok-4":
            return answer(request)
        return httpx.Response(400, json={"error": {"code": 400, "message": (
            f"bad request from {request.headers['Authorization']}")}})

    router.post("https://paper-api.alpaca.markets/v2/orders").mock(side_effect=echo_order)
    router.post(OPENROUTER).mock(side_effect=echo_grok)
    caplog.set_level("DEBUG")
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    now[0] = datetime(2026, 11, 30, 12, 0, tzinfo=ET)
    run_workflow(CHECKPOINT, {"at": now[0].isoformat()}, services)

    events = services.store.list_week(WEEK)
    assert any(e.kind is EventKind.MODEL_FAILURE for e in events)  # grok's refusal arrived
    out = capsys.readouterr()
    texts = {"events": "\n".join(e.model_dump_json() for e in events),
             "output": out.out + out.err, "logs": caplog.text,
             "report": week_report_html(services.store, services.settings, WEEK)}
    texts |= {f.name: f.read_bytes().decode("latin-1") for f in tmp_path.glob("events.sqlite*")}
    leaks = {where: key for where, text in texts.items() for key in keys if key in text}
    assert leaks == {}
    assert "forbidden for key [key]:[key]" in texts["events"]  # the broker's echo, scrubbed


# ------------------------------------------------------------------ forward only
ASOF = datetime(2026, 11, 25, 8, 0, tzinfo=ET)


def test_a_live_past_week_is_refused_before_any_request(live: Live) -> None:
    services, _, now, router = live
    now[0] = ASOF + timedelta(hours=2, minutes=1)
    with pytest.raises(RunRefused, match=r"forward-only.*2026-11-25 08:00 ET"):
        run_workflow(WEEKLY, {"week_id": WEEK}, services)
    # a redrive of the research step skips the opening: refused there too
    run = WeekRun(week_id=WEEK, asof=ASOF, pm_accounts=[], accounts=[], research_poll_seconds=1)
    with pytest.raises(RunRefused, match="research not started"):
        research_start(services, run)
    assert not router.calls
    assert services.store.list_week(WEEK) == []


def test_within_the_grace_a_live_week_runs_and_its_packs_say_when(live: Live) -> None:
    services, _, now, _ = live
    now[0] = ASOF + timedelta(hours=1, minutes=59)
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    packs = services.events.week(WEEK).all(ResearchPack)
    assert packs and all(p.produced_at == now[0] for p in packs)
    run = WeekRun(week_id=WEEK, asof=ASOF, pm_accounts=[], accounts=[], research_poll_seconds=1)
    assert not project_week(services, run).late
