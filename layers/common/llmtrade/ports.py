"""The small protocols domain code talks to. Each has a cloud and a local implementation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from llmtrade.schemas import BrokerOrder, Event, EventKind, OrderRequest, Position, ResearchPack


# --------------------------------------------------------------------------- event store
class EventStore(Protocol):
    def append(self, event: Event) -> bool:
        """Store the event unless one with the same id exists. True when it was new."""

    def get(self, week_id: str, account_id: str, kind: EventKind, subject: str = "") -> Event | None: ...

    def list_week(self, week_id: str, account_id: str | None = None) -> list[Event]:
        """The week's events (one account's when given), oldest first."""

    def list_account(self, account_id: str, kind: EventKind | None = None) -> list[Event]:
        """One account's events across weeks, oldest week first."""


# --------------------------------------------------------------------------- LLM
class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)
    role: str
    content: str


class LLMRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    model: str
    messages: list[ChatMessage]
    schema_name: str
    json_schema: dict
    temperature: float = 0.2


class LLMResponse(BaseModel):
    model_config = ConfigDict(frozen=True)
    model: str  # who actually answered: never let a fallback silently swap a PM
    content: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency_ms: int
    offline: bool


class LLMError(RuntimeError):
    """The model did not answer (timeout, refusal, provider error). Recorded; the account goes FLAT."""


class LLM(Protocol):
    def complete(self, request: LLMRequest) -> LLMResponse: ...


# --------------------------------------------------------------------------- research
class ResearchProvider(Protocol):
    name: str

    def produce(self, week_id: str, asof: datetime) -> ResearchPack: ...


# --------------------------------------------------------------------------- market data
class Session(BaseModel):
    model_config = ConfigDict(frozen=True)
    day: date
    open: datetime
    close: datetime


class MarketData(Protocol):
    symbols: list[str]

    def session(self, day: date) -> Session | None:
        """The trading session of that day, or None when the market is closed all day."""

    def next_open(self, after: datetime) -> datetime: ...

    def price(self, symbol: str, at: datetime) -> Decimal:
        """Last trade price at that moment (the previous close while the market is closed)."""


# --------------------------------------------------------------------------- broker
class BrokerRejected(RuntimeError):
    """The broker refused an order (Alpaca's 403/422): recorded on the order event, never retried blindly."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True)
    equity: Decimal
    cash: Decimal


class Broker(Protocol):
    """One paper brokerage; every call names the account (each has its own keys)."""

    def account(self, account_id: str) -> AccountState: ...

    def positions(self, account_id: str) -> list[Position]: ...

    def order_by_client_id(self, account_id: str, client_order_id: str) -> BrokerOrder | None: ...

    def submit_order(self, account_id: str, order: OrderRequest) -> BrokerOrder: ...

    def open_orders(self, account_id: str) -> list[BrokerOrder]: ...

    def cancel_order(self, account_id: str, client_order_id: str) -> None: ...


# --------------------------------------------------------------------------- secrets
class MissingSecrets(RuntimeError):
    """Names the missing keys, never their values."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__("missing keys: " + ", ".join(self.names))


class Secrets(Protocol):
    def get(self, name: str) -> str | None: ...
