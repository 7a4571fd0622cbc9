"""OpenRouter: the real LLM behind every PM and the chairman (and a research provider).

Research goes through research/openrouter.py. One POST /chat/completions per attempt, with strict
structured output (`response_format` json_schema, `strict: true`) and
`provider.require_parameters` so only endpoints that honour the schema are used. Transient failures
(429, 408, 5xx, timeouts, dropped connections) are retried with backoff, bounded in attempts and in
total time; everything else becomes an LLMError whose message says what to fix. The answer's
content is validated by the caller (steps/llm_call.py), not here.

The answer is read as the spec's ChatResult defines it (choices[].message.content, model, usage
with cost, and `openrouter_metadata` for the provider that served it). What OpenRouter sends beyond
the spec is tolerated, never required: a top-level `provider`, `choices[].error`, an `error` object
inside an HTTP 200, `message.annotations` (research citations). Errors pass the shared scrubber.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from llmtrade.adapters.http_retry import (
    RetryPolicy,
    remember_secrets,
    retry_after_seconds,
    scrub,
)
from llmtrade.adapters.http_tls import tls_context
from llmtrade.ports import LLMError, LLMRequest, LLMResponse

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
KEY_NAME = "OPENROUTER_API_KEY"
# 408/429/502/503 per OpenRouter's error docs; 500/504 and the spec's 524 (edge timeout) and 529
# (provider overloaded) are transient too. Retry-After is uncapped: the total budget bounds it.
RETRY = RetryPolicy(statuses=frozenset({408, 429, 500, 502, 503, 504, 524, 529}), max_attempts=4,
                    backoff_s=2.0, backoff_cap_s=30.0, total_s=300.0)

Sleep = Callable[[float], None]


# --------------------------------------------------------------------------- strict schema
# Keywords every strict structured-output backend accepts (OpenAI strict mode, which OpenRouter
# forwards, is the narrowest common ground). Anything else is dropped; value constraints are kept as
# words in the description so the model still sees them, and our validation enforces them after.
_KEPT = frozenset({"type", "properties", "required", "additionalProperties", "items", "enum",
                   "anyOf", "$ref", "$defs", "description"})
_NOTED = ("minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
          "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict-mode-compatible copy of a pydantic JSON schema: every object closed
    (`additionalProperties: false`) with every property required, `const` as a one-value enum,
    `oneOf` as `anyOf`, no `$ref` siblings, and only keywords strict mode accepts."""
    strict: dict[str, Any] = _strict_node(copy.deepcopy(schema))
    return strict


def _strict_node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    notes = [f"{key}={node[key]}" for key in _NOTED if key in node]
    if "const" in node:
        result["enum"] = [node["const"]]
    for key, value in node.items():
        if key == "oneOf":
            result["anyOf"] = [_strict_node(sub) for sub in value]
        elif key not in _KEPT:
            continue
        elif key in ("properties", "$defs"):
            result[key] = {name: _strict_node(sub) for name, sub in value.items()}
        elif key == "anyOf":
            result[key] = [_strict_node(sub) for sub in value]
        elif key in ("items", "additionalProperties"):
            result[key] = _strict_node(value)
        else:
            result[key] = value
    if notes:
        result["description"] = "; ".join(filter(None, [result.get("description"),
                                                        ", ".join(notes)]))
    if result.get("type") == "object" or "properties" in result:
        result.setdefault("properties", {})
        result["additionalProperties"] = False
        result["required"] = list(result["properties"])
    # strict mode allows no siblings next to $ref, but does next to anyOf
    if "$ref" in result and len(result) > 1:
        result["anyOf"] = [{"$ref": result.pop("$ref")}]
    return result


# --------------------------------------------------------------------------- the client
@dataclass(eq=False)
class _Failure(Exception):
    """One failed attempt: why, whether trying again can help, how long the server asks to wait."""

    message: str
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None
    raw: str = ""


class OpenRouterLLM:
    """The `LLM` port on OpenRouter's chat completions API. One synchronous client for its calls
    (thread-safe: the council's PMs ask from parallel threads), so a step's calls reuse a
    connection; no event loop (httpx's async client would need anyio, which the layer leaves out:
    infra.functions.LAYER_PRUNE)."""

    def __init__(self, api_key: str, *, base_url: str = DEFAULT_BASE_URL,
                 timeout_seconds: float = 120.0, max_attempts: int = 4,
                 max_total_seconds: float = 300.0, backoff_seconds: float = 2.0,
                 sleep: Sleep = time.sleep, app_name: str | None = None,
                 referer: str | None = None) -> None:
        if not api_key:
            raise ValueError(f"{KEY_NAME} is empty")
        remember_secrets(api_key)
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds, self._sleep = timeout_seconds, sleep
        self.retry = dataclasses.replace(RETRY, max_attempts=max_attempts,
                                         total_s=max_total_seconds, backoff_s=backoff_seconds)
        self._headers = {"Authorization": f"Bearer {api_key}",
                         "Content-Type": "application/json"}
        if referer:
            self._headers["HTTP-Referer"] = referer  # OpenRouter's optional app attribution headers
        if app_name:
            self._headers["X-Title"] = app_name
        self._http = httpx.Client(base_url=self.base_url, headers=self._headers,
                                  verify=tls_context())

    @property
    def max_total_seconds(self) -> float:
        """The longest one call may take, retries and waits included."""
        return self.retry.total_s

    def __repr__(self) -> str:  # never show the key
        return f"OpenRouterLLM(base_url={self.base_url!r})"

    def payload(self, request: LLMRequest,
                extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The request body; `extra_body` adds OpenRouter options (e.g. server tools) on top."""
        return {
            "model": request.model,
            "messages": [message.model_dump() for message in request.messages],
            "temperature": request.temperature,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": request.schema_name, "strict": True,
                "schema": strict_schema(request.json_schema)}},
            "provider": {"require_parameters": True},  # only endpoints that honour response_format
            **(extra_body or {}),
        }

    def complete(self, request: LLMRequest, *,
                 extra_body: dict[str, Any] | None = None) -> LLMResponse:
        body = self.payload(request, extra_body)
        started = time.monotonic()
        deadline = started + self.retry.total_s
        failure = _Failure("no attempt was made")
        attempt, billed = 0, Decimal(0)
        for attempt in range(1, self.retry.max_attempts + 1):
            timeout = max(1.0, min(self.timeout_seconds, deadline - time.monotonic()))
            try:
                response = self._http.post("/chat/completions", json=body, timeout=timeout)
                return self._answer(request.model, response, attempt, started)
            except httpx.TimeoutException:
                failure = _Failure(f"no answer within {timeout:.0f}s", retryable=True)
            except httpx.TransportError as exc:
                failure = _Failure(f"connection failed: {type(exc).__name__}: {exc}",
                                   retryable=True)
            except _Failure as exc:
                failure = exc
                billed += _billed(exc.raw)
            if (failure.status == 404 and "temperature" in body
                    and "parameter" in failure.message.lower()):
                # with require_parameters, a model that takes no temperature (some reasoning
                # models) matches no endpoint: ask again without it rather than lose the answer
                body = {key: value for key, value in body.items() if key != "temperature"}
                continue
            if not failure.retryable or self.retry.last(attempt):
                break
            wait = (failure.retry_after if failure.retry_after is not None
                    else self.retry.backoff(attempt))
            if not self.retry.fits(time.monotonic() - started, wait):
                failure.message += (f"; not retried: waiting {wait:.0f}s would pass the "
                                    f"{self.retry.total_s:.0f}s budget")
                break
            self._sleep(wait)
        raise LLMError(scrub(f"OpenRouter {request.model}: {failure.message}"
                             f" (attempts: {attempt})"),
                       status=failure.status, attempts=attempt, raw=scrub(failure.raw),
                       latency_ms=_ms_since(started), cost_usd=billed)

    def _answer(self, model: str, response: httpx.Response, attempt: int,
                started: float) -> LLMResponse:
        raw = scrub(response.text)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not response.is_success:
            raise _http_failure(model, response.status_code, data, raw,
                                response.headers.get("Retry-After"))
        if not isinstance(data, dict):
            raise _Failure("the answer is not a JSON object", status=response.status_code,
                           retryable=True, raw=raw)
        if isinstance(data.get("error"), dict):  # an error after the HTTP 200 was sent
            code = data["error"].get("code")
            raise _http_failure(model, code if isinstance(code, int) else 502, data, raw, None)
        try:
            return self._completion(model, data, response.status_code, raw, attempt, started)
        except (AttributeError, TypeError, ValueError, ArithmeticError) as exc:
            # a body of the wrong shape
            raise _Failure(f"the answer has an unexpected shape ({type(exc).__name__}: {exc})",
                           status=response.status_code, raw=raw) from exc

    def _completion(self, model: str, data: dict[str, Any], status: int, raw: str, attempt: int,
                    started: float) -> LLMResponse:
        choices = data.get("choices") or []
        if not choices:
            raise _Failure("the answer has no choices", status=status, raw=raw)
        choice, message = choices[0], choices[0].get("message") or {}
        if choice.get("finish_reason") == "error" or isinstance(choice.get("error"), dict):
            error = choice.get("error") or {}
            code = int(error["code"]) if isinstance(error.get("code"), int) else 502
            raise _http_failure(model, code, {"error": error}, raw, None)
        content = _text(message.get("content"))
        if not content:
            if message.get("refusal"):
                raise _Failure(f"the model refused: {message['refusal']}", status=status, raw=raw)
            raise _Failure(f"the answer is empty (finish_reason={choice.get('finish_reason')})",
                           status=status, raw=raw)
        usage = data.get("usage") or {}
        return LLMResponse(
            model=data.get("model") or model, content=content,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0), cost_usd=_cost(usage),
            latency_ms=_ms_since(started), offline=False, provider=_provider(data),
            attempts=attempt, raw=raw,
        )


def _provider(data: dict[str, Any]) -> str | None:
    """Who served the answer: the selected endpoint of the spec's `openrouter_metadata`, else the
    `provider` field OpenRouter sends beyond the spec."""
    metadata = data.get("openrouter_metadata")
    endpoints = metadata.get("endpoints") if isinstance(metadata, dict) else None
    available = endpoints.get("available") if isinstance(endpoints, dict) else None
    for endpoint in available if isinstance(available, list) else []:
        if isinstance(endpoint, dict) and endpoint.get("selected") and endpoint.get("provider"):
            return str(endpoint["provider"])
    provider = data.get("provider")
    return str(provider) if provider else None


def _http_failure(model: str, status: int, data: Any, raw: str,
                  retry_after: str | None) -> _Failure:
    """What an OpenRouter error (`{"error": {"code", "message", "metadata"}}`) means for us."""
    error: dict[str, Any] = (data["error"]
                             if isinstance(data, dict) and isinstance(data.get("error"), dict)
                             else {})
    detail = str(error.get("message") or raw[:300] or "no details").strip()
    metadata: dict[str, Any] = error["metadata"] if isinstance(error.get("metadata"), dict) else {}
    if status == 401:
        message = f"the API key was rejected (401: {detail}); check {KEY_NAME}"
    elif status == 402:
        message = (f"the OpenRouter account is out of credits (402: {detail});"
                   " add credits at https://openrouter.ai/credits")
    elif status == 403:
        reasons = ", ".join(map(str, metadata.get("reasons") or [])) or "none given"
        message = f"blocked by moderation (403: {detail}); reasons: {reasons}"
        if metadata.get("flagged_input"):
            message += f"; flagged input: {str(metadata['flagged_input'])[:200]!r}"
    elif status == 404 or (status == 400 and _about_unknown_model(detail)):
        message = (f"no OpenRouter endpoint serves model {model!r} ({status}: {detail});"
                   " check the slug in config/models.yaml and that the model supports"
                   " structured outputs (response_format json_schema)")
    else:
        message = f"HTTP {status}: {detail}"
        if metadata.get("provider_name"):
            message += f" (provider {metadata['provider_name']})"
    return _Failure(message, status=status, retryable=RETRY.retries(status),
                    retry_after=retry_after_seconds(retry_after, time.time()), raw=raw)


def _about_unknown_model(detail: str) -> bool:
    text = detail.lower()
    return "model" in text and any(word in text for word in ("not a valid", "invalid", "unknown",
                                                             "not found", "does not exist",
                                                             "no endpoints"))


def _text(content: Any) -> str:
    """The message content as text: a string, or the text parts of a content array."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _cost(usage: dict[str, Any]) -> Decimal:
    """usage.cost in USD; with the account's own provider keys (BYOK) it reads 0 and the upstream
    provider's charge is in cost_details.upstream_inference_cost."""
    cost = usage.get("cost") or 0
    if not cost:
        cost = (usage.get("cost_details") or {}).get("upstream_inference_cost") or 0
    return Decimal(str(cost))


def _billed(raw: str) -> Decimal:
    """The cost a failed answer still reports (refusals and empty answers carry `usage`), or 0."""
    try:
        data = json.loads(raw) if raw else None
        return _cost(data.get("usage") or {}) if isinstance(data, dict) else Decimal(0)
    except (ValueError, TypeError, AttributeError, ArithmeticError):
        return Decimal(0)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
