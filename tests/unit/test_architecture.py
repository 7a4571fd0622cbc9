"""The house runs one way: the package's imports form no cycle, no floor imports one above it,
steps do not import steps, and no module grows past 400 lines. Read from the source (every import,
lazy ones too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "layers" / "common" / "llmtrade"
MAX_LINES = 400

# What each part must never import, and why (docs/ARCHITECTURE.md draws the floors).
LOW = ("services", "events", "environment", "ports", "schemas", "config", "workflow", "run_keys",
       "prompts", "data", "providers")
NEVER: dict[str, tuple[tuple[str, ...], str]] = {
    "domain": (("adapters", "steps", "mechanics", "services", "wiring", "entrypoints", "reports",
                "events"),
               "pure rules: no I/O, no orchestration"),
    "steps": (("adapters", "wiring", "entrypoints", "reports"),
              "steps talk to ports through the services"),
    "mechanics": (("steps", "adapters", "wiring", "entrypoints", "reports"),
                  "what steps share sits below them"),
    "adapters": (("steps", "mechanics", "services", "wiring", "entrypoints", "reports"),
                 "adapters serve ports"),
    "reports": (("steps", "mechanics", "services", "wiring", "entrypoints", "adapters"),
                "reports read the event log, not the steps"),
    "wiring": (("steps", "mechanics", "entrypoints", "reports"),
               "what services are built from sits below the steps"),
    **{low: (("steps", "mechanics", "wiring", "entrypoints", "reports", "adapters"),
             "the ground floor")
       for low in LOW},
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(path: Path, name: str) -> Iterator[str]:
    """Every llmtrade module this file imports, at any depth of the file (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("llmtrade"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` folders up
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("llmtrade"):
                # `from llmtrade.steps import council` imports the module llmtrade.steps.council
                yield from (f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                            for alias in node.names)


MODULES = modules()


def resolve(target: str) -> str:
    while target not in MODULES and "." in target:
        target = target.rpartition(".")[0]
    return target


def graph() -> dict[str, set[str]]:
    return {name: {resolve(t) for t in imports_of(path, name)} - {name}
            for name, path in MODULES.items()}


def part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_part_imports_what_it_must_never_import() -> None:
    wrong = [f"{module} -> {target} ({NEVER[part(module)][1]})"
             for module, targets in graph().items() if part(module) in NEVER
             for target in targets if part(target) in NEVER[part(module)][0]]
    assert wrong == []


def test_no_step_imports_another_step() -> None:
    wrong = [f"{module} -> {target}"
             for module, targets in graph().items() if part(module) == "steps"
             for target in targets if part(target) == "steps" and target != "llmtrade.steps"]
    assert wrong == []


def test_the_imports_form_no_cycle() -> None:
    edges = graph()
    # a package's face (__init__ re-exporting its modules) is not a room of its own
    faces = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    edges = {m: {t for t in ts if t not in faces} for m, ts in edges.items() if m not in faces}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target):], target] if target in trail
                              else [node, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_limit(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, (f"{name} has {lines} lines "
                                f"(at most {MAX_LINES}: split it by what it does)")


def test_infra_imports_no_adapter_and_no_step() -> None:
    wrong = [f"{path.name} -> {target}" for path in (REPO / "infra").glob("*.py")
             for target in imports_of(path, f"infra.{path.stem}")
             if part(resolve(target)) in ("adapters", "steps", "mechanics", "wiring",
                                          "entrypoints")]
    assert wrong == []


GATED = ("domain", "steps", "mechanics")  # the rules, the steps and what they share
MAX_COMPLEXITY = 10  # radon's grade B: boolean operators and comprehension conditions count


@pytest.mark.parametrize("name", sorted(m for m in MODULES if part(m) in GATED))
def test_the_rules_and_the_steps_stay_simple(name: str) -> None:
    from radon.complexity import cc_visit
    from radon.visitors import Function

    complex_ = [f"{block.fullname} ({block.complexity})"
                for block in cc_visit(MODULES[name].read_text())
                if isinstance(block, Function) and block.complexity > MAX_COMPLEXITY]
    assert complex_ == [], f"{name}: split these into named steps"
