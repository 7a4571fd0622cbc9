from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from llmtrade import schemas
from llmtrade.events import kind_of
from llmtrade.schemas import EventKind, OrderRequest, PitchAnswer, payload_type_of
from pydantic import ValidationError

PITCH: dict[str, Any] = {
    "instrument": "SPY", "direction": "LONG", "thesis_bullets": ["b"], "invalidation": "i",
    "conviction": 2,
    "indicators": [{"name": "n", "measure": "price", "instrument": "SPY", "comparison": ">",
                    "threshold": 1.0, "role": "confirms"}],
}


def test_a_valid_pitch() -> None:
    assert PitchAnswer.model_validate(PITCH).conviction == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"direction": "SHORT"}, "direction SHORT disagrees with conviction 2"),
        ({"conviction": 3}, "less than or equal to 2"),
        ({"thesis_bullets": ["b"] * 6}, "at most 5 items"),
        ({"indicators": [{**PITCH["indicators"][0], "comparison": "about"}]}, "comparison"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_pitch_rules(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PitchAnswer.model_validate({**PITCH, **change})


def test_orders_are_whole_positive_shares_with_a_bounded_client_id() -> None:
    with pytest.raises(ValidationError):
        OrderRequest(symbol="SPY", qty=0, side="buy", client_order_id="x")
    with pytest.raises(ValidationError):
        OrderRequest(symbol="SPY", qty=1, side="buy", client_order_id="x" * 129)


SCHEMAS = Path(schemas.__file__).parent
PAYLOADS = {"research", "council", "orders", "checkpoints", "postmortem", "runs", "calls"}
ANSWERS = {"research", "council"}
ALLOWED = {  # each family imports only the modules below it; none imports the package face
    "basics": set(),
    **{f"answers.{family}": {"basics"} for family in ANSWERS},
    "answers": set(),  # its modules' docstring only
    "qa": {"basics"},
    "broker": {"basics"},
    **{f"payloads.{family}": {"basics", "broker", *(f"answers.{a}" for a in ANSWERS)}
       for family in PAYLOADS},
    "payloads": set(),  # its modules' docstring only: importing it loads no payload
    "views": {"basics"},
    "seal": {"basics"},
    "envelope": set(),  # its kind table names the payload modules, imported on first use
}


def source(family: str) -> Path:
    path = SCHEMAS.joinpath(*family.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("family", sorted(ALLOWED))
def test_schema_families_import_one_way_and_never_the_face(family: str) -> None:
    tree = ast.parse(source(family).read_text())
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    own = {module for module in imported if module.startswith("llmtrade.")}
    assert own <= {f"llmtrade.schemas.{m}" for m in ALLOWED[family]}, own
    assert len(source(family).read_text().splitlines()) <= 400


def test_every_module_of_the_package_is_a_known_family() -> None:
    modules = {path.relative_to(SCHEMAS).with_suffix("").parts for path in SCHEMAS.rglob("*.py")}
    found = {".".join(parts[:-1] if parts[-1] == "__init__" else parts) for parts in modules}
    assert found == {*ALLOWED, ""}  # "": the face


def test_each_payload_type_is_carried_by_exactly_one_kind() -> None:
    carried = {kind: payload_type_of(kind) for kind in EventKind}
    assert len(set(carried.values())) == len(carried)
    assert all(kind_of(payload_type) is kind for kind, payload_type in carried.items())
    homes = {t.__module__.removeprefix("llmtrade.schemas.") for t in carried.values()}
    assert homes == {*(f"payloads.{family}" for family in PAYLOADS), "views", "seal"}


def test_a_subclass_of_a_payload_type_is_no_payload_and_a_non_payload_is_refused() -> None:
    class Amended(OrderRequest):
        pass

    class AmendedPitch(schemas.Pitch):
        pass

    for not_a_payload in (OrderRequest, Amended, AmendedPitch, PitchAnswer):
        with pytest.raises(TypeError, match="is not an event payload"):
            kind_of(not_a_payload)
    assert kind_of(schemas.Pitch) is EventKind.PITCH


# ------------------------------------------------------------------------- the lazy face
def face_imports() -> dict[str, str]:
    """name -> module, as the face imports them under TYPE_CHECKING (what mypy and editors see)."""
    tree = ast.parse((SCHEMAS / "__init__.py").read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    return {alias.name: node.module for node in guarded.body
            if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}


def test_the_face_table_its_type_checking_imports_and_all_name_the_same_things() -> None:
    homes = {name: f"llmtrade.schemas.{home}" for name, home in schemas._HOMES.items()}
    assert face_imports() == homes
    assert sorted(schemas.__all__) == sorted(homes) and len(set(schemas.__all__)) == len(homes)


@pytest.mark.parametrize("name", schemas.__all__)
def test_every_name_of_the_face_resolves_to_its_module(name: str) -> None:
    value = getattr(schemas, name)
    module = importlib.import_module(face_imports()[name])
    assert value is getattr(module, name)
    if isinstance(value, type):
        assert value.__module__ == module.__name__


def test_an_unknown_name_is_an_attribute_error() -> None:
    unknown = "Nothing"  # mypy refuses `schemas.Nothing`: the face's __getattr__ is hidden from it
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        getattr(schemas, unknown)


def schema_modules_loaded_by(statement: str) -> list[str]:
    """The schema modules a fresh interpreter has loaded after `statement`."""
    code = (f"import sys; {statement}; "
            "print(sorted(m for m in sys.modules if m.startswith('llmtrade.schemas.')))")
    package_root = {**os.environ, "PYTHONPATH": str(SCHEMAS.parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=package_root, check=True)
    loaded: list[str] = ast.literal_eval(done.stdout.strip())
    return loaded


def test_importing_one_payload_loads_only_its_family() -> None:
    assert schema_modules_loaded_by("from llmtrade.schemas import RunClaim, Event") == [
        "llmtrade.schemas.basics", "llmtrade.schemas.envelope", "llmtrade.schemas.payloads",
        "llmtrade.schemas.payloads.runs"]
    # a pitch is a council answer: the research answers stay unloaded
    assert schema_modules_loaded_by("from llmtrade.schemas import Pitch") == [
        "llmtrade.schemas.answers", "llmtrade.schemas.answers.council", "llmtrade.schemas.basics",
        "llmtrade.schemas.payloads", "llmtrade.schemas.payloads.council"]


def test_a_lambda_handler_imports_only_the_payload_families_every_step_needs() -> None:
    # runs: the kill switch and the run claim; no answers (their 14 classes), no broker values:
    # the ports name those only in their protocols' annotations
    loaded = schema_modules_loaded_by("import llmtrade.entrypoints.lambda_entry")
    assert [m for m in loaded if m.startswith("llmtrade.schemas.payloads.")] == [
        "llmtrade.schemas.payloads.runs"]
    assert not [m for m in loaded if m.startswith(("llmtrade.schemas.answers",
                                                   "llmtrade.schemas.broker"))]
