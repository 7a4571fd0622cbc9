"""Jinja2 prompt templates (StrictUndefined: a missing variable is an error, never an empty
string)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("llmtrade", "prompts"), undefined=StrictUndefined,
                       keep_trailing_newline=False, autoescape=False)


def render(template: str, **variables: Any) -> str:
    return _environment().get_template(f"{template}.j2").render(**variables).strip()
