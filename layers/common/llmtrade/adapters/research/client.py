"""HTTP for the research providers: bounded retries (the shared http_retry policy), and failures
in words a user can act on (never a key)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from llmtrade.adapters.http_retry import RetryPolicy, remember_secrets, scrub
from llmtrade.adapters.http_tls import tls_context
from llmtrade.schemas import ResearchStatus

# The research providers' transient answers: 408, 429 and the usual 5xx (not OpenRouter's 524/529).
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0


def research_retry(max_attempts: int, backoff_s: float) -> RetryPolicy:
    return RetryPolicy(statuses=RETRYABLE_STATUS, max_attempts=max_attempts,
                       backoff_s=backoff_s, server_wait_cap_s=MAX_RETRY_AFTER_S)


class ProviderError(Exception):
    """A provider problem, phrased for the failure event.

    `transient`: the same request may work later."""

    def __init__(self, message: str, *, raw: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.raw, self.transient = raw, transient


def _detail(response: httpx.Response) -> str:
    """The provider's own error message (OpenAI- and Google-style bodies both use error.message)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:500]
    if isinstance(error, str):
        return error[:500]
    return response.text[:500] or response.reason_phrase


class RetryingClient:
    """A JSON client for one provider: retries 429/5xx/timeouts with backoff, then gives up."""

    def __init__(self, *, provider: str, key_name: str, secret: str, base_url: str,
                 headers: Mapping[str, str], timeout_s: float, max_attempts: int, backoff_s: float,
                 sleep: Callable[[float], None] = time.sleep,
                 ) -> None:
        if not secret:
            raise ValueError(f"{provider}: {key_name} is empty")
        self._provider, self._key_name = provider, key_name
        remember_secrets(secret)
        self._retry, self._sleep = research_retry(max_attempts, backoff_s), sleep
        self._http = httpx.Client(base_url=base_url, headers=dict(headers), timeout=timeout_s,
                                  verify=tls_context())

    def _error(self, message: str, raw: str = "", *, transient: bool = False) -> ProviderError:
        # a provider echoing a key must not put it in an event
        return ProviderError(scrub(message), raw=scrub(raw), transient=transient)

    def request(self, method: str, path: str, *, json: Any = None,
                resend_after_timeout: bool = True,
                ) -> tuple[dict[str, Any], str]:
        """The response's JSON object and text, or ProviderError.

        `resend_after_timeout=False` for requests that start a paid job: after a read timeout the
        job may exist already, and sending it again would pay twice for one week's research."""
        problem, raw = "", ""
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                response = self._http.request(method, path, json=json)
            except httpx.TransportError as exc:
                if not self._retry.may_resend(exc, paid_start=not resend_after_timeout):
                    raise self._error(f"{self._provider} did not answer in time"
                                      f" ({type(exc).__name__}); not sent again because the job"
                                      " may have started: try again later") from exc
                problem, raw = (f"{self._provider} could not be reached"
                                f" ({type(exc).__name__})", "")
                wait = self._retry.backoff(attempt)
            else:
                if response.is_success:
                    return self._body(response)
                detail = _detail(response)
                if response.status_code in (401, 403) or "api key" in detail.lower():
                    raise self._error(f"{self._provider} refused the key"
                                      f" (HTTP {response.status_code}: {detail}):"
                                      f" check {self._key_name}", response.text)
                if not self._retry.retries(response.status_code):
                    raise self._error(f"{self._provider} rejected the request"
                                      f" (HTTP {response.status_code}): {detail}", response.text)
                problem, raw = (f"{self._provider} answered HTTP {response.status_code}: {detail}",
                                response.text)
                wait = self._retry.wait(attempt, response.status_code, response.headers)
            if not self._retry.last(attempt):
                self._sleep(wait)
        raise self._error(f"{problem}; gave up after {self._retry.max_attempts} attempts:"
                          " try again later", raw, transient=True)

    def _body(self, response: httpx.Response) -> tuple[dict[str, Any], str]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._error(f"{self._provider} answered HTTP {response.status_code}"
                              " with a body that is not a JSON object", response.text)
        return body, scrub(response.text)


def poll(client: RetryingClient, path: str,
         handle: str) -> tuple[dict[str, Any], str] | ResearchStatus:
    """GET a background job's state: its body and raw text, or the status to report when the poll
    could not get through. A poll that fails is not a failed job: the job runs on at the provider,
    and the workflow's deadline bounds how long it is waited for (only a final error fails it)."""
    try:
        return client.request("GET", path)
    except ProviderError as exc:
        return ResearchStatus(state="running" if exc.transient else "failed", handle=handle,
                              error=str(exc), raw=exc.raw)


def cancel_job(client: RetryingClient, path: str, job: str, provider: str) -> str:
    """Ask the provider to stop a job still running past our deadline; says how that went."""
    try:
        client.request("POST", path)
    except ProviderError as exc:
        return f"cancelling {job} failed: {exc}"
    return f"{job} cancelled at {provider}"
