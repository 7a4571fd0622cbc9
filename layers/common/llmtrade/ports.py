"""The small protocols domain code talks to. Each has a cloud and a local implementation.

Each Protocol's docstring is its contract: what every implementation guarantees. The contract
suites in tests/contract/ run each implementation against it (both event stores, both order
ledgers, the simulated broker and the Alpaca client over a fake Alpaca).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # the protocols' values live in schemas (a cold start loads what it uses)
    from llmtrade.schemas import (
        AccountState,
        AssetInfo,
        BrokerOrder,
        Event,
        EventKind,
        OrderRequest,
        Position,
        ResearchStatus,
    )


# --------------------------------------------------------------------------- event store
class StoreUnavailable(RuntimeError):
    """The event store cannot be opened or written (corrupt, read-only, locked, not a folder).

    Says which and why."""


class EventStore(Protocol):
    """The append-only event history (read and written by intent through llmtrade.events.EventLog).

    Every implementation guarantees: an event is stored once per id (week, account, kind,
    subject), the first write wins and is never changed or deleted; a read sees every append made
    before it (strongly consistent); payloads of any size round-trip exactly; lists are ordered by
    `Event.time_order` (recorded_at, then key); an unusable store fails when opened, with
    StoreUnavailable saying why. A chained event's link (week, account, chain_index) is stored
    once too: an append whose link is taken stores nothing (two writers of one chain conflict
    instead of forking it). A payload read back that is not the canonical text written raises
    UnreadableEvent."""

    def append(self, event: Event) -> bool:
        """Store the event unless one with the same id, or the same chain link, exists. True when
        it was new."""

    def chain_head(self, week_id: str, account_id: str) -> tuple[int, str] | None:
        """The last link of the (week, account) chain: its chain_index and chain_hash, or None."""

    def get(self, week_id: str, account_id: str, kind: EventKind,
            subject: str = "") -> Event | None:
        """The event with that id, or None."""

    def list_week(self, week_id: str, account_id: str | None = None) -> list[Event]:
        """The week's events (one account's when given), oldest first."""

    def list_account(self, account_id: str, kind: EventKind | None = None) -> list[Event]:
        """One account's events across weeks, oldest week first."""


# --------------------------------------------------------------------------- LLM
class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    role: str
    content: str


class LLMRequest(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    model: str
    messages: list[ChatMessage]
    schema_name: str
    json_schema: dict[str, Any]
    temperature: float = 0.2


class LLMResponse(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    model: str  # who actually answered: never let a fallback silently swap a PM
    content: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency_ms: int
    offline: bool
    provider: str | None = None  # the upstream provider that served it (OpenRouter's `provider`)
    attempts: int = 1  # HTTP attempts this answer took (retries after 429/5xx/timeouts)
    raw: str = ""  # the response body as received, kept in the call's event for audit


class LLMError(RuntimeError):
    """The model did not answer (timeout, refusal, provider error, budget).

    Recorded; the account goes FLAT. `status` is the HTTP status (or the error code inside a 200
    body) when there was one; `raw` the last response body, so the failed call can be recorded as
    faithfully as a good one."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1, raw: str = "",
                 latency_ms: int = 0, cost_usd: Decimal = Decimal(0)) -> None:
        super().__init__(message)
        self.status, self.attempts, self.raw, self.latency_ms = status, attempts, raw, latency_ms
        # what the failed attempts were billed (a refusal or an empty answer is paid)
        self.cost_usd = cost_usd


class LLM(Protocol):
    """A model answering one structured request.

    Every implementation guarantees: `complete` returns an LLMResponse naming the model that
    really answered, its cost and the raw body, or raises LLMError (never another exception for a
    provider problem) with the status, the attempts, the last body and what the failed attempts
    were billed. Transient failures are retried inside, bounded in attempts and time. The content
    is JSON text the caller validates."""

    def complete(self, request: LLMRequest) -> LLMResponse: ...


# --------------------------------------------------------------------------- research
class ResearchProvider(Protocol):
    """One configured research provider (a kind of llmtrade.providers).

    Built by adapters/research/registry. Every implementation guarantees: provider problems come
    back as a `failed` status whose error a user can act on and never holds a key, not as
    exceptions; a `completed` status holds a validated pack with its sources and the cost; a
    `running` status holds the handle to poll. A job that may have started is never started again
    (a paid start is not resent after a timeout). `check` is called only with a handle that `start`
    returned running; a poll that could not get through reports the job still running."""

    name: str  # the provider id from models.yaml; the pack's event subject

    def start(self, week_id: str, asof: datetime) -> ResearchStatus: ...

    def check(self, week_id: str, asof: datetime, handle: str) -> ResearchStatus: ...

    def cancel(self, handle: str) -> str:
        """Stop a job `start` returned running (called once its deadline passed, so it stops
        running and billing). Best effort: never raises; says what happened, in words for the
        failure event (a no-op where nothing runs in the background)."""
        ...


# --------------------------------------------------------------------------- market data
class Session(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    day: date
    open: datetime
    close: datetime


class MarketData(Protocol):
    """Prices and the trading calendar of the configured universe (NYSE hours, ET).

    Every implementation guarantees: prices are Decimal (never through float); a symbol outside
    `symbols` is a KeyError; holidays have no session and early closes end early."""

    symbols: list[str]

    def session(self, day: date) -> Session | None:
        """The trading session of that day, or None when the market is closed all day."""

    def next_open(self, after: datetime) -> datetime:
        """The first session open at or after `after`."""

    def price(self, symbol: str, at: datetime) -> Decimal:
        """Last trade price at that moment (the previous close while the market is closed)."""


# --------------------------------------------------------------------------- broker
class BrokerRejected(RuntimeError):
    """The broker refused an order (Alpaca's 403/422).

    Recorded on the order event, never retried blindly."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class OrderLedger(Protocol):
    """The simulated broker's own record of the orders it was given.

    Its state between runs and Lambdas. Every implementation guarantees: a record is stored once
    per (account, client_order_id) and never changed or deleted (a cancel is a record of its own);
    `orders` reads what was added before it (strongly consistent), one account's only, in the order
    the records were added (ties by client_order_id)."""

    def add(self, account_id: str, order: BrokerOrder) -> bool:
        """Keep the record unless the account holds one with its client_order_id.

        True when it was new."""

    def orders(self, account_id: str) -> list[BrokerOrder]:
        """Every record of the account, oldest first; [] for an account never seen."""


class Broker(Protocol):
    """One paper brokerage with Alpaca's semantics.

    Every call names the account (each has its own keys). Every implementation guarantees:
    accounts are separate; whole shares only; a `day` market order placed while the market is
    closed is `accepted` and trades from the next open; one placed while it is open may be
    answered `new`/`accepted` and fill later, in parts, or be rejected later (poll
    `order_by_client_id` until it is final); a `stop` order (`gtc`) rests until the price trades
    through its stop_price, then fills; a client_order_id is unique forever per account (a reuse
    is refused with 422, even after a cancel), and one submit never makes two orders (a timed-out
    submit is looked up by its id before any resend); refusals are BrokerRejected with the
    broker's status and code (403: selling through zero in one order, a wash trade against an open
    order on the other side, buying power, a short the account or the asset does not allow; 422:
    unknown symbol, duplicate id), never retried; a cancelled order never fills."""

    def account(self, account_id: str) -> AccountState: ...

    def positions(self, account_id: str) -> list[Position]:
        """Open positions, signed (negative qty for a short)."""

    def order_by_client_id(self, account_id: str, client_order_id: str) -> BrokerOrder | None:
        """The order as it stands now, or None when the account never placed that id."""

    def submit_order(self, account_id: str, order: OrderRequest) -> BrokerOrder: ...

    def open_orders(self, account_id: str) -> list[BrokerOrder]:
        """Orders not yet filled nor cancelled."""

    def cancel_order(self, account_id: str, client_order_id: str) -> None:
        """Cancel an open order; BrokerRejected when no open order has that id."""

    def asset(self, account_id: str, symbol: str) -> AssetInfo: ...


# --------------------------------------------------------------------------- secrets
class MissingSecrets(RuntimeError):
    """Names the missing keys, never their values."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__("missing keys: " + ", ".join(self.names))


class RunRefused(RuntimeError):
    """A run that cannot go ahead, found out before it wrote anything.

    The message says why and what to do."""


class Secrets(Protocol):
    """Where keys come from (the environment or .env locally, a Secrets Manager secret in AWS).

    Every implementation guarantees: `get` returns the key's value or None when absent or empty,
    and no value ever reaches a message, a log or an event (errors name keys, never values)."""

    def get(self, name: str) -> str | None: ...
