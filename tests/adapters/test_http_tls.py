"""Every provider client shares one TLS context: httpx builds one per client otherwise, parsing
certifi's CA bundle each time (about 25 ms of CPU: bench/bench_tls.py)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from llmtrade.adapters.broker.alpaca import AlpacaBroker
from llmtrade.adapters.http_tls import tls_context
from llmtrade.adapters.llm.openrouter import OpenRouterLLM
from llmtrade.adapters.research.client import RetryingClient
from llmtrade.ports import ChatMessage, LLMRequest

from tests.adapters.openrouter_examples import MODEL, completion


@pytest.fixture
def verified_with(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What each httpx client made from now on was given as `verify`."""
    given: list[Any] = []
    for client in (httpx.Client, httpx.AsyncClient):
        def init(self: Any, *args: Any, _init: Any = client.__init__, **kwargs: Any) -> None:
            given.append(kwargs.get("verify", "httpx's default: a context of its own"))
            _init(self, *args, **kwargs)

        monkeypatch.setattr(client, "__init__", init)
    yield given


def test_one_context_verifies_hosts_and_serves_every_client(verified_with: list[Any]) -> None:
    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname

    AlpacaBroker("https://paper-api.alpaca.markets", {"pm-gpt": ("key-id-0001", "secret-0001")})
    RetryingClient(provider="Perplexity", key_name="PERPLEXITY_API_KEY", secret="pplx-secret-1",
                   base_url="https://api.perplexity.ai", headers={}, timeout_s=5, max_attempts=1,
                   backoff_s=0)
    with respx.mock(base_url="https://openrouter.ai/api/v1") as router:
        router.post("/chat/completions").respond(200, json=completion())
        OpenRouterLLM("sk-or-v1-test-secret-0123456789").complete(LLMRequest(
            model=MODEL, messages=[ChatMessage(role="user", content="Pitch one trade.")],
            schema_name="PitchAnswer", json_schema={"type": "object"}))
    assert len(verified_with) == 3 and all(v is context for v in verified_with)
