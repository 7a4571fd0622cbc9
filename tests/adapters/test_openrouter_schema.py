"""strict_schema, the transform that makes our answer schemas fit OpenRouter's strict structured
outputs: every object closed, every property required, constraints kept as notes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llmtrade.adapters.llm.openrouter import strict_schema
from llmtrade.adapters.research.pack import research_schema
from llmtrade.config import Settings
from llmtrade.domain.universe import answer_schema
from llmtrade.schemas import ChairmanAnswer, PitchAnswer


def _walk(node: Any, seen: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        seen.append(node)
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    _walk(sub, seen)
            elif key in ("items", "anyOf"):
                _walk(value, seen)
    elif isinstance(node, list):
        for item in node:
            _walk(item, seen)


@pytest.mark.parametrize("which", ["PitchAnswer", "ChairmanAnswer", "ResearchAnswer"])
def test_the_strict_transform_closes_every_object_of_our_answer_schemas(settings: Settings,
                                                                        which: str) -> None:
    symbols = settings.assets.symbols
    schema = {"PitchAnswer": lambda: answer_schema(PitchAnswer, symbols),
              "ChairmanAnswer": lambda: answer_schema(ChairmanAnswer, symbols),
              "ResearchAnswer": lambda: research_schema(settings.assets)}[which]()
    original = json.dumps(schema)
    nodes: list[dict[str, Any]] = []
    _walk(strict_schema(schema), nodes)
    objects = [n for n in nodes if n.get("type") == "object"]
    assert len(objects) >= 2
    for node in objects:
        assert (node["additionalProperties"] is False
                and node["required"] == list(node["properties"]))
    for node in nodes:
        assert not {"title", "default", "const", "oneOf", "minLength", "maxLength", "minimum",
                    "maximum", "minItems", "maxItems"} & node.keys()
        assert "$ref" not in node or len(node) == 1
    assert json.dumps(schema) == original  # the caller's schema is left as it was


def test_the_strict_transform_keeps_property_names_and_notes_constraints() -> None:
    schema = {"type": "object", "properties": {
        "title": {"type": "string", "maxLength": 10, "title": "Title"},
        "default": {"$ref": "#/$defs/Kind", "description": "which kind"},
        "size": {"type": "integer", "minimum": 1, "default": 3}},
        "required": ["title"], "$defs": {"Kind": {"enum": ["a", "b"], "type": "string"}}}
    strict = strict_schema(schema)
    assert (strict["required"] == ["title", "default", "size"]
            and strict["additionalProperties"] is False)
    assert strict["properties"]["title"] == {"type": "string", "description": "maxLength=10"}
    assert strict["properties"]["default"] == {"description": "which kind",
                                               "anyOf": [{"$ref": "#/$defs/Kind"}]}
    assert strict["properties"]["size"] == {"type": "integer", "description": "minimum=1"}
