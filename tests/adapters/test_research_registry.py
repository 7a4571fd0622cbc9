"""The research provider registry: every kind llmtrade.providers declares has a constructor, and
the config, the required keys and the live wiring all follow the rows."""

from __future__ import annotations

import pytest
from llmtrade.adapters.llm.openrouter import OpenRouterLLM
from llmtrade.adapters.research.registry import BUILDERS, Parts, research_providers
from llmtrade.adapters.store.secrets import required_keys
from llmtrade.config import ResearchProviderConfig, Settings
from llmtrade.providers import RESEARCH_KINDS, ResearchKind


class Keys:
    def get(self, name: str) -> str | None:
        return f"key-of-{name}"


def test_every_declared_kind_has_a_constructor_and_no_other() -> None:
    assert set(BUILDERS) == set(RESEARCH_KINDS)


@pytest.mark.parametrize("kind", sorted(RESEARCH_KINDS))
def test_each_kind_builds_a_provider_named_by_its_id(settings: Settings, kind: str) -> None:
    row = RESEARCH_KINDS[kind]
    provider = ResearchProviderConfig(id=f"my-{kind}".replace("_", "-"), kind=kind,
                                      **{row.needs: "x/y"})
    models = settings.models.model_copy(update={"research_providers": [provider]})
    built = research_providers(Parts(settings.model_copy(update={"models": models}), Keys(),
                                     OpenRouterLLM("k")))
    assert [p.name for p in built] == [provider.id]


def test_a_kind_not_declared_is_refused_naming_the_kinds() -> None:
    with pytest.raises(ValueError, match=r"unknown research provider kind 'sonar'.*'perplexity'"):
        ResearchProviderConfig(id="p", kind="sonar", model="m")


@pytest.mark.parametrize("kind", sorted(RESEARCH_KINDS))
def test_a_kind_without_what_its_row_needs_is_refused(kind: str) -> None:
    with pytest.raises(ValueError, match=f"a {kind} provider needs {RESEARCH_KINDS[kind].needs}"):
        ResearchProviderConfig(id="p", kind=kind)


def test_the_research_keys_are_those_of_the_configured_kinds(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RESEARCH_KINDS, "openrouter",
                        ResearchKind(keys=("OPENROUTER_API_KEY", "EXTRA_KEY"), needs="model"))
    only = ResearchProviderConfig(id="router", kind="openrouter", model="a/b")
    models = settings.models.model_copy(update={"research_providers": [only]})
    assert required_keys(settings.model_copy(update={"models": models}), {"research"}) == [
        "OPENROUTER_API_KEY", "EXTRA_KEY"]
