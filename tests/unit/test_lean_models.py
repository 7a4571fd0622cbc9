"""A cold start builds no validator its step does not use: every pydantic model of the package
defers building its validator to its first use (`defer_build`), but the two every invocation
validates at once (bench/bench_cold_start.py measures what a cold start costs). Read from the
source: a model's config is its own or its base's."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "llmtrade"
# validated by every invocation, right away: deferring would only move the build
BUILT_AT_IMPORT = {"Event", "FunctionEnvironment"}


def _config_defers(node: ast.ClassDef) -> bool | None:
    """Whether the class's own model_config defers its build; None when it has none."""
    for statement in node.body:
        if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
                and any(isinstance(t, ast.Name) and t.id == "model_config"
                        for t in statement.targets)):
            return any(k.arg == "defer_build" and isinstance(k.value, ast.Constant)
                       and k.value.value is True for k in statement.value.keywords)
    return None


def test_every_model_defers_its_validator_but_those_every_invocation_validates() -> None:
    direct, eager = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            defers = _config_defers(node)
            if "BaseModel" in bases:
                direct.append(node.name)
                if not defers and node.name not in BUILT_AT_IMPORT:
                    eager.append(f"{path.relative_to(PACKAGE)}: {node.name}")
            elif defers is False:  # a subclass that turns deferring off again
                eager.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert len(direct) > 20 and set(direct) >= BUILT_AT_IMPORT
    assert not eager, f"models built at import (add defer_build=True): {eager}"
