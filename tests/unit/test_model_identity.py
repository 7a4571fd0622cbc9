"""The model-identity check over every configured model family: OpenRouter's dated and canonical
slugs are the model asked; another vendor, another version or a smaller variant is a swap."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llmtrade.config import load_settings
from llmtrade.mechanics.model_calls import answered_by_asked

MODELS = load_settings().models
CONFIGURED = sorted({pm.openrouter_model for pm in MODELS.pms}
                    | {MODELS.chairman.openrouter_model}
                    | ({MODELS.chairman.backup_openrouter_model}
                       if MODELS.chairman.backup_openrouter_model else set()))
SMALLER = ("mini", "nano", "lite", "fast", "small", "flash", "haiku", "micro")
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


def dated(slug: str, day: date, form: int) -> str:
    """The slug with a release date in one of the spellings OpenRouter uses."""
    return slug + [f"-{day:%Y-%m-%d}", f"-{day:%Y%m%d}", f"-{day:%m%d}", f"-{day:%m-%Y}",
                   f"-{day:%y%m%d}"][form]


@pytest.mark.parametrize(("asked", "answered"), [
    ("x-ai/grok-4", "x-ai/grok-4-0709"),
    ("openai/gpt-5.1", "openai/gpt-5.1-2025-11-13"),
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-4.5-sonnet-20250929"),
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4-5-20250929"),
    ("google/gemini-3-pro-preview", "google/gemini-3-pro-preview-11-2025"),
])
def test_dated_and_canonical_slugs_are_the_model_asked(asked: str, answered: str) -> None:
    assert answered_by_asked(asked, answered)


@pytest.mark.parametrize(("asked", "answered"), [
    ("x-ai/grok-4", "x-ai/grok-4-fast"),
    ("x-ai/grok-4", "x-ai/grok-4-1"),
    ("x-ai/grok-4", "x-ai/grok-3-0709"),
    ("openai/gpt-5.1", "openai/gpt-1.5"),
    ("openai/gpt-5.1", "openai/gpt-5.1-mini-2025-11-13"),
    ("google/gemini-3-pro-preview", "google/gemini-3-flash-preview"),
    ("anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5-20251001"),
])
def test_another_model_or_a_smaller_variant_is_a_swap(asked: str, answered: str) -> None:
    assert not answered_by_asked(asked, answered)


@given(st.sampled_from(CONFIGURED), days, st.integers(0, 4))
def test_every_configured_family_answers_under_its_dated_slugs(slug: str, day: date,
                                                               form: int) -> None:
    assert answered_by_asked(slug, dated(slug, day, form))
    assert answered_by_asked(slug, "offline:" + slug)


@given(st.sampled_from(CONFIGURED), st.sampled_from(SMALLER), days, st.integers(0, 4),
       st.booleans())
def test_a_smaller_variant_of_any_configured_family_is_a_swap(slug: str, variant: str, day: date,
                                                             form: int, with_date: bool) -> None:
    smaller = f"{slug}-{variant}"
    assert not answered_by_asked(slug, dated(smaller, day, form) if with_date else smaller)


@given(st.sampled_from(CONFIGURED), st.sampled_from(CONFIGURED), days, st.integers(0, 4))
def test_another_configured_model_is_a_swap(asked: str, other: str, day: date, form: int) -> None:
    if other != asked:
        assert not answered_by_asked(asked, dated(other, day, form))


@given(st.sampled_from(CONFIGURED), st.sampled_from(["meta-llama", "mistralai", "deepseek"]))
def test_the_same_name_from_another_vendor_is_a_swap(slug: str, vendor: str) -> None:
    assert not answered_by_asked(slug, f"{vendor}/{slug.partition('/')[2]}")


@given(st.sampled_from(CONFIGURED), st.integers(1, 9))
def test_another_version_is_a_swap(slug: str, bump: int) -> None:
    assert not answered_by_asked(slug, f"{slug}.{bump}")
    assert not answered_by_asked(slug, f"{slug}-v2")
