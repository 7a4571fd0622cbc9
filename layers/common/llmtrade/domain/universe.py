"""The tradable universe as a constraint on answers: in the JSON schema asked for, checked after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel


def answer_schema(model: type[BaseModel], symbols: list[str]) -> dict[str, Any]:
    """The model's JSON schema with every `instrument` restricted to the tradable universe."""
    schema = model.model_json_schema()

    def restrict(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if name == "instrument":
                    sub["enum"] = list(symbols)
            for value in node.values():
                restrict(value)
        elif isinstance(node, list):
            for value in node:
                restrict(value)

    restrict(schema)
    return schema


def in_universe(symbols: list[str]) -> Callable[[BaseModel], None]:
    def check(answer: BaseModel) -> None:
        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if "instrument" in node and node["instrument"] not in symbols:
                    raise ValueError(f"instrument {node['instrument']!r} "
                                     f"is not in the universe {symbols}")
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(answer.model_dump())

    return check
