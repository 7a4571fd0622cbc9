"""accounts.yaml: one paper account per PM, the council's, and the FLAT baseline."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    Field,
    model_validator,
)

from llmtrade.config.base import Section
from llmtrade.schemas import AccountKind


class BrokerConfig(Section):
    base_url: str
    data_url: str
    allow_live: bool = False

    @model_validator(mode="after")
    def _paper_unless_opted_in(self) -> BrokerConfig:
        for field, url in (("base_url", self.base_url), ("data_url", self.data_url)):
            parsed = urlsplit(url)
            if parsed.scheme != "https" or not parsed.hostname:
                raise ValueError(f"{field} {url!r} must be an https URL")
        if not is_paper_endpoint(self.base_url) and not self.allow_live:
            raise ValueError(
                f"base_url {self.base_url} is not a paper endpoint (host {PAPER_HOST}); "
                "set allow_live: true to trade live"
            )
        return self


PAPER_HOST = "paper-api.alpaca.markets"


def is_paper_endpoint(url: str) -> bool:
    """Alpaca's paper host, exactly: a substring would match `api.alpaca.markets/paper-api.x`."""
    return (urlsplit(url).hostname or "").lower() == PAPER_HOST


class Account(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    kind: AccountKind
    pm: str | None = None
    key_env: Annotated[str | None, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = None

    @model_validator(mode="after")
    def _shape(self) -> Account:
        if (self.kind is AccountKind.PM) != (self.pm is not None):
            raise ValueError("pm is required for a pm account and only there")
        if (self.kind is AccountKind.FLAT) == (self.key_env is not None):
            raise ValueError("key_env is required for a trading account; the flat account has none")
        return self


class AccountsConfig(Section):
    broker: BrokerConfig
    accounts: list[Account] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_council_one_flat(self) -> AccountsConfig:
        kinds = [a.kind for a in self.accounts]
        if kinds.count(AccountKind.COUNCIL) != 1 or kinds.count(AccountKind.FLAT) != 1:
            raise ValueError("exactly one council and one flat account are required")
        ids = [a.id for a in self.accounts]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"account ids must be unique: {', '.join(duplicates)}")
        pms = [a.pm for a in self.accounts if a.pm is not None]
        if shared := sorted({pm for pm in pms if pms.count(pm) > 1}):
            raise ValueError(f"pm {', '.join(shared)} trades more than one account: "
                             "one account per PM")
        keys = [a.key_env for a in self.accounts if a.key_env is not None]
        if reused := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"key_env {', '.join(reused)} is used by more than one account")
        return self
