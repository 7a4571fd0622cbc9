"""Provider endpoints from models.yaml: https only, plain http only to loopback with the explicit
test flag, and the live wiring reaches each provider where the config says."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from llmtrade.adapters.store.secrets import required_keys
from llmtrade.config import Settings
from llmtrade.config.models import Endpoints
from llmtrade.domain.calendar import ET
from llmtrade.wiring import live_services
from pydantic import ValidationError

from tests.conftest import WEEK


class Keys:
    def __init__(self, names: list[str]) -> None:
        self.values = {name: f"endpoint-key-{i}" for i, name in enumerate(names)}

    def get(self, name: str) -> str | None:
        return self.values.get(name)


@pytest.mark.parametrize("fields", [
    {},
    {"openrouter": "https://gateway.example.com/openrouter/v1"},
    {"perplexity": "http://127.0.0.1:8080", "allow_insecure_loopback": True},
    {"gemini": "http://localhost:9000/v1beta", "allow_insecure_loopback": True},
    {"openrouter": "http://[::1]:4000/api/v1", "allow_insecure_loopback": True},
])
def test_https_or_flagged_loopback_is_accepted(fields: dict[str, Any]) -> None:
    Endpoints(**fields)


@pytest.mark.parametrize(("fields", "why"), [
    ({"openrouter": "http://openrouter.ai/api/v1"}, "endpoints.openrouter .* https"),
    ({"perplexity": "http://127.0.0.1:8080"}, "allow_insecure_loopback"),
    ({"gemini": "http://10.0.0.5/v1beta", "allow_insecure_loopback": True}, "endpoints.gemini"),
    ({"gemini": "http://localhost.evil.com/", "allow_insecure_loopback": True}, "gemini"),
    ({"perplexity": "ftp://api.perplexity.ai"}, "perplexity"),
    ({"openrouter": "https:///no-host"}, "openrouter"),
])
def test_anything_else_is_refused_naming_the_field(fields: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        Endpoints(**fields)


def test_the_live_wiring_calls_each_provider_at_its_configured_endpoint(
        settings: Settings, tmp_path: Path) -> None:
    from llmtrade.adapters.store.sqlite import SqliteEventStore

    endpoints = Endpoints(openrouter="https://or.gateway.test/v1",
                          perplexity="https://pplx.gateway.test",
                          gemini="http://127.0.0.1:9999/v1beta", allow_insecure_loopback=True)
    settings = settings.model_copy(update={"models": settings.models.model_copy(
        update={"endpoints": endpoints})})
    services = live_services(settings, Keys(required_keys(settings)),
                             SqliteEventStore(tmp_path / "events.sqlite"),
                             needs=frozenset({"research"}))
    asof = datetime(2026, 11, 25, 8, 0, tzinfo=ET)
    with respx.mock(assert_all_called=True) as network:
        perplexity = network.post("https://pplx.gateway.test/v1/agent").respond(400)
        gemini = network.post("http://127.0.0.1:9999/v1beta/interactions").respond(400)
        openrouter = network.post("https://or.gateway.test/v1/chat/completions").respond(
            400, json={"error": {"code": 400, "message": "no"}})
        for provider in services.research:
            assert provider.start(WEEK, asof).state == "failed"
    assert perplexity.called and gemini.called and openrouter.called
    assert all(isinstance(call.request, httpx.Request) for call in network.calls)
