"""Each research kind (llmtrade.providers) to its adapter's constructor: the live wiring's one
table.

Adapters are imported when built, so a function imports only the providers it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llmtrade.adapters.llm.openrouter import OpenRouterLLM
from llmtrade.config import ResearchProviderConfig, Settings
from llmtrade.ports import ResearchProvider, Secrets
from llmtrade.providers import RESEARCH_KINDS


@dataclass(frozen=True)
class Parts:
    """What a live research provider is built from."""

    settings: Settings
    secrets: Secrets
    llm: OpenRouterLLM  # the council's client: OpenRouter research calls it

    def key(self, provider: ResearchProviderConfig) -> str:
        """The provider's own key: the first its kind's row names."""
        return self.secrets.get(RESEARCH_KINDS[provider.kind].keys[0]) or ""


def _perplexity(provider: ResearchProviderConfig, parts: Parts) -> ResearchProvider:
    from llmtrade.adapters.research.perplexity import PerplexityResearch

    return PerplexityResearch(parts.key(provider), provider.id, provider.model or "",
                              parts.settings.assets,
                              base_url=parts.settings.models.endpoints.perplexity)


def _gemini_deep_research(provider: ResearchProviderConfig, parts: Parts) -> ResearchProvider:
    from llmtrade.adapters.research.gemini import GeminiDeepResearch

    return GeminiDeepResearch(parts.key(provider), provider.id, provider.agent or "",
                              parts.settings.assets,
                              base_url=parts.settings.models.endpoints.gemini)


def _openrouter(provider: ResearchProviderConfig, parts: Parts) -> ResearchProvider:
    from llmtrade.adapters.research.openrouter import OpenRouterResearch

    return OpenRouterResearch(parts.llm, provider.id, provider.model or "", parts.settings.assets)


BUILDERS: dict[str, Callable[[ResearchProviderConfig, Parts], ResearchProvider]] = {
    "perplexity": _perplexity,
    "gemini_deep_research": _gemini_deep_research,
    "openrouter": _openrouter,
}


def research_providers(parts: Parts) -> list[ResearchProvider]:
    """The configured research providers, live, in models.yaml's order."""
    return [BUILDERS[provider.kind](provider, parts)
            for provider in parts.settings.models.research_providers]
