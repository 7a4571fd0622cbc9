"""The research provider kinds: one row each, read by the config, the keys and the wiring.

A row says what a kind needs from models.yaml (`model` or `agent`) and which keys a live run must
hold for it; the adapters' side (adapters/research/registry.py) maps each kind to its constructor,
and a test checks that every kind declared here has one. A new research provider is its adapter
file, its row here and its constructor there. On the lowest floor: imports nothing of llmtrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ResearchKind:
    keys: tuple[str, ...]  # the keys a live run needs for a provider of this kind, by name
    needs: Literal["model", "agent"]  # the models.yaml field that says what to call
    needs_hint: str = ""  # what that field holds, for the config error


RESEARCH_KINDS: dict[str, ResearchKind] = {
    "perplexity": ResearchKind(keys=("PERPLEXITY_API_KEY",), needs="model"),
    "gemini_deep_research": ResearchKind(keys=("GEMINI_API_KEY",), needs="agent",
                                         needs_hint="the Deep Research agent id"),
    "openrouter": ResearchKind(keys=("OPENROUTER_API_KEY",), needs="model"),
}


def research_kind(kind: str) -> str:
    """`kind` when it is a declared research kind; else a ValueError naming those there are."""
    if kind not in RESEARCH_KINDS:
        raise ValueError(f"unknown research provider kind {kind!r}; the kinds are "
                         + ", ".join(repr(k) for k in RESEARCH_KINDS))
    return kind
