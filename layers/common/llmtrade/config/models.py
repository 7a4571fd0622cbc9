"""models.yaml: the PMs, the chairman, the research providers and the weekly budget."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    model_validator,
)

from llmtrade.config.base import Section
from llmtrade.providers import RESEARCH_KINDS, research_kind


class PMModel(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    name: str
    openrouter_model: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.:-]+$")]


OpenRouterSlug = Annotated[str, Field(pattern=r"^[\w.-]+/[\w.:-]+$")]


class ChairmanModel(Section):
    openrouter_model: OpenRouterSlug
    backup_openrouter_model: OpenRouterSlug | None = Field(
        default=None,
        description="asked when the chairman fails; if it fails too, the council is FLAT")


class ResearchProviderConfig(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    kind: Annotated[str, AfterValidator(research_kind)]  # a row of providers.RESEARCH_KINDS
    model: str | None = None
    agent: str | None = None
    fallback: bool = Field(default=False,
                           description="runs only when no other provider produced a pack")

    @model_validator(mode="after")
    def _what_to_call(self) -> ResearchProviderConfig:
        row = RESEARCH_KINDS[self.kind]
        if not getattr(self, row.needs):
            hint = f" ({row.needs_hint})" if row.needs_hint else ""
            raise ValueError(f"a {self.kind} provider needs {row.needs}{hint}")
        return self


class ResearchTiming(Section):
    poll_seconds: int = Field(ge=1, le=600,
                              description="wait between two checks of a long-running provider")
    # Deep Research runs up to ~60 min, then is stuck (workflow.WEEKLY's timeout allows for it)
    deadline_minutes: int = Field(ge=1, le=60,
                                  description="a provider still running then has failed")


class Budget(Section):
    weekly_usd: float = Field(
        gt=0, description="LLM spend per week; a call that would pass it is refused")
    call_estimate_usd: float = Field(
        ge=0, description="expected cost of one LLM call, checked before it is made")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Endpoints(Section):
    """Where each provider is reached: its own API by default, or a proxy, a gateway or a recorded
    fake. https only; plain http only to this machine (loopback) and only with
    `allow_insecure_loopback: true` (tests). Alpaca's URLs are in accounts.yaml."""

    openrouter: str = "https://openrouter.ai/api/v1"
    perplexity: str = "https://api.perplexity.ai"
    gemini: str = "https://generativelanguage.googleapis.com/v1beta"
    allow_insecure_loopback: bool = False

    @model_validator(mode="after")
    def _https(self) -> Endpoints:
        for name in ("openrouter", "perplexity", "gemini"):
            url: str = getattr(self, name)
            parts = urlsplit(url)
            host = parts.hostname or ""
            if parts.scheme == "https" and host:
                continue
            if parts.scheme == "http" and _loopback(host) and self.allow_insecure_loopback:
                continue
            hint = (" (plain http only to loopback, with allow_insecure_loopback: true)"
                    if parts.scheme == "http" else "")
            raise ValueError(f"endpoints.{name} {url!r} must be an https URL{hint}")
        return self


class ModelsConfig(Section):
    pms: list[PMModel] = Field(min_length=1)
    chairman: ChairmanModel
    quorum: int = Field(ge=1)
    repair_attempts: int = Field(ge=0, le=3)
    budget: Budget
    research: ResearchTiming
    research_providers: list[ResearchProviderConfig] = Field(min_length=1)
    endpoints: Endpoints = Endpoints()

    @model_validator(mode="after")
    def _consistent(self) -> ModelsConfig:
        if self.quorum > len(self.pms):
            raise ValueError(f"quorum {self.quorum} exceeds the {len(self.pms)} configured PMs")
        for field, ids in (("pms", [pm.id for pm in self.pms]),
                           ("research_providers", [p.id for p in self.research_providers])):
            if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
                raise ValueError(f"{field}: duplicate id {', '.join(duplicates)}")
        if all(p.fallback for p in self.research_providers):
            raise ValueError("research_providers: at least one provider must not be a fallback")
        return self
