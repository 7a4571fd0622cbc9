"""Audit (SPEC §7): every call to a model or a research provider, kept so any decision can be
audited: what was asked, what came back, what it cost.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from llmtrade.schemas.basics import Strict


class ResearchCall(Strict):
    """One call to a research provider (start, or one check of a running job), kept for audit (§7).
    The start call of a job that kept running holds its handle and start time: the deadline
    counts from it."""

    week_id: str
    provider: str
    call: Literal["start", "check"]
    state: Literal["running", "completed", "failed"]
    handle: str = ""
    prompt: str = ""
    raw: str = ""
    error: str | None = None
    cost_usd: Decimal
    at: datetime


class LLMCallRecord(Strict):
    """Prompt, response and cost of one LLM call, kept so any decision can be audited (§7)."""

    week_id: str
    account_id: str
    purpose: str
    model_requested: str
    model_answered: str
    offline: bool
    attempt: int
    messages: list[dict[str, str]]
    response_text: str
    valid: bool
    error: str | None = None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency_ms: int
    template: str = Field(
        default="", description="the prompt template rendered (pitch, review, qa_answer, ...)")
    provider: str | None = Field(
        default=None, description="the upstream provider that served the call")
    http_attempts: int = Field(
        default=1, description="HTTP requests made; 0 when refused before any (budget)")
    http_status: int | None = Field(
        default=None, description="of a failed call, when the provider gave one")
    raw_response: str = Field(
        default="", description="the response body as received (long bodies truncated)")
    parsed: dict[str, Any] | None = Field(
        default=None, description="the validated answer, when there was one")
