"""One retry policy for every HTTP client.

Which failures are worth another try, how long to wait, when to stop:
- A failed answer is tried again when its status is in the policy's `statuses` (each client keeps
  its own set: the providers document different transient answers); a timeout or a dropped
  connection always is, unless the request may have started something paid (`may_resend`).
- The wait is the server's when it gives one: Retry-After (seconds or an HTTP date) on any retried
  answer, and, for a 429 with `rate_limit_reset`, X-RateLimit-Reset (epoch seconds when the quota
  refills), capped by `server_wait_cap_s`. Otherwise exponential backoff from `backoff_s`, capped
  by `backoff_cap_s`.
- At most `max_attempts` attempts, and no wait that would pass `total_s` from the first attempt.
- A request that starts a paid job is never sent again once it may have reached the server: after a
  timeout the job may exist already, and a second one would be paid twice.

Secrets are scrubbed here, once for every adapter: the wiring (and each adapter, for its own keys)
registers every key value it holds with `remember_secrets`, and every adapter error message or raw
body passes through `scrub` where it is created, so no key reaches an event, a log, the terminal or
a report, whichever provider echoed it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RATE_LIMITED = 429
SERVER_ERRORS = frozenset(range(500, 600))
SCRUBBED = "[key]"
_MIN_SECRET_CHARS = 6  # shorter values (an empty optional key, a placeholder) would blank words
_SECRETS: set[str] = set()


def remember_secrets(*values: str | None) -> None:
    """Add key values to what `scrub` replaces (process-wide: an adapter error may echo any key)."""
    _SECRETS.update(v for v in values if v and len(v) >= _MIN_SECRET_CHARS)


def scrub(text: str) -> str:
    """`text` with every remembered key value replaced (the longest first: one may contain
    another)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, SCRUBBED)
    return text


@dataclass(frozen=True)
class RetryPolicy:
    statuses: frozenset[int]  # HTTP statuses worth another attempt
    max_attempts: int
    backoff_s: float  # the first backoff wait; it doubles with each attempt
    backoff_cap_s: float = math.inf  # the longest backoff wait
    server_wait_cap_s: float = math.inf  # the longest wait a server may ask for
    total_s: float = math.inf  # the whole call, waits included
    rate_limit_reset: bool = False  # a 429 without Retry-After waits for X-RateLimit-Reset

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def retries(self, status: int) -> bool:
        return status in self.statuses

    def last(self, attempt: int) -> bool:
        return attempt >= self.max_attempts

    def backoff(self, attempt: int) -> float:
        """The wait after the `attempt`-th failure (1-based) when the server names none."""
        return min(self.backoff_s * 2.0 ** (attempt - 1), self.backoff_cap_s)

    def server_wait(self, status: int, headers: Mapping[str, str], now: float) -> float | None:
        """The wait the server asks for, in seconds (`now`: epoch seconds), or None."""
        wait = retry_after_seconds(headers.get("Retry-After"), now)
        reset = headers.get("X-RateLimit-Reset")
        if (wait is None and self.rate_limit_reset and status == RATE_LIMITED
                and reset and reset.isdigit()):
            wait = int(reset) - now
        return None if wait is None else min(max(wait, 0.0), self.server_wait_cap_s)

    def wait(self, attempt: int, status: int | None = None,
             headers: Mapping[str, str] | None = None, now: float | None = None) -> float:
        """How long to wait before the next attempt: the server's wait, else backoff."""
        asked = None
        if status is not None and headers is not None:
            asked = self.server_wait(status, headers,
                                     datetime.now(UTC).timestamp() if now is None else now)
        return self.backoff(attempt) if asked is None else asked

    def fits(self, elapsed: float, wait: float) -> bool:
        """Whether waiting `wait` more seconds after `elapsed` stays inside the total budget."""
        return elapsed + wait < self.total_s

    @staticmethod
    def may_resend(failure: httpx.TransportError, *, paid_start: bool) -> bool:
        """After a transport failure: a request that never left (the connection failed) may go
        again; one that may have reached the server, only when it does not start a paid job."""
        return not paid_start or isinstance(failure, httpx.ConnectError | httpx.ConnectTimeout)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from `now` (epoch seconds): a number, or an HTTP date.

    None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)  # HTTP dates are GMT
    return max(0.0, when.timestamp() - now)
