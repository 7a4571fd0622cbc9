"""The retry policy every HTTP client uses (alpaca, llm/openrouter, research/client)."""

from __future__ import annotations

import httpx
import pytest
from llmtrade.adapters.broker.alpaca import RETRY as ALPACA
from llmtrade.adapters.http_retry import RetryPolicy, retry_after_seconds
from llmtrade.adapters.llm.openrouter import RETRY as OPENROUTER
from llmtrade.adapters.research.client import research_retry

NOW = 1_700_000_000.0
POLICY = RetryPolicy(statuses=frozenset({429, 503}), max_attempts=4, backoff_s=0.5,
                     backoff_cap_s=3.0, server_wait_cap_s=30.0, total_s=60.0,
                     rate_limit_reset=True)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [POLICY.backoff(attempt) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_servers_wait_wins_and_is_capped() -> None:
    assert POLICY.wait(1, 503, {"Retry-After": "7"}, NOW) == 7.0
    assert POLICY.wait(1, 429, {"Retry-After": "600"}, NOW) == 30.0
    assert POLICY.wait(1, 429, {"Retry-After": "Tue, 14 Nov 2023 22:13:25 GMT"}, NOW) == 5.0
    assert POLICY.wait(2, 503, {}, NOW) == 1.0


def test_the_rate_limit_reset_counts_only_for_a_429_of_a_policy_that_reads_it() -> None:
    reset = {"X-RateLimit-Reset": str(int(NOW) + 4)}
    assert POLICY.wait(1, 429, reset, NOW) == 4.0
    # every Alpaca answer carries it: only a 429 means wait
    assert POLICY.wait(1, 503, reset, NOW) == 0.5
    assert OPENROUTER.wait(1, 429, reset, NOW) == 2.0


def test_unreadable_or_past_waits() -> None:
    assert retry_after_seconds("soon", NOW) is None and retry_after_seconds(None, NOW) is None
    assert retry_after_seconds("-3", NOW) == 0.0 and retry_after_seconds("nan", NOW) is None
    assert retry_after_seconds("Tue, 14 Nov 2023 22:00:00 GMT", NOW) == 0.0


def test_attempts_and_the_total_budget_bound_the_call() -> None:
    assert not POLICY.last(3) and POLICY.last(4)
    assert POLICY.fits(50.0, 9.0) and not POLICY.fits(50.0, 10.0)
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(statuses=frozenset(), max_attempts=0, backoff_s=1.0)


def test_a_paid_start_is_resent_only_when_it_never_left() -> None:
    request = httpx.Request("POST", "https://example.test/jobs")
    assert RetryPolicy.may_resend(httpx.ConnectError("refused", request=request), paid_start=True)
    assert not RetryPolicy.may_resend(httpx.ReadTimeout("slow", request=request), paid_start=True)
    assert RetryPolicy.may_resend(httpx.ReadTimeout("slow", request=request), paid_start=False)


def test_each_client_keeps_its_own_statuses() -> None:
    assert OPENROUTER.statuses == {408, 429, 500, 502, 503, 504, 524, 529}
    assert research_retry(3, 2.0).statuses == {408, 429, 500, 502, 503, 504}
    assert 408 not in ALPACA.statuses and {429, 500, 501, 524, 599} <= ALPACA.statuses
