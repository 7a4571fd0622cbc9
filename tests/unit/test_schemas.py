from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from llmtrade import ports, schemas
from llmtrade.schemas import PAYLOAD_MODELS, EventKind, OrderRequest, PitchAnswer
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
ALLOWED = {  # each family imports only the modules below it; none imports the package face
    "basics": set(),
    "answers": {"basics"},
    "broker": {"basics"},
    "payloads": {"basics", "answers", "broker"},
    "views": {"basics"},
    "seal": {"basics"},
    "envelope": {"broker", "payloads", "seal", "views"},
}


@pytest.mark.parametrize("family", sorted(ALLOWED))
def test_schema_families_import_one_way_and_never_the_face(family: str) -> None:
    tree = ast.parse((SCHEMAS / f"{family}.py").read_text())
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    own = {module for module in imported if module.startswith("llmtrade.")}
    assert own <= {f"llmtrade.schemas.{m}" for m in ALLOWED[family]}, own
    assert len((SCHEMAS / f"{family}.py").read_text().splitlines()) <= 400


def test_every_module_of_the_package_is_a_known_family() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.py")} == {*ALLOWED, "__init__"}


def test_each_payload_type_is_carried_by_exactly_one_kind() -> None:
    kinds = list(PAYLOAD_MODELS.values())
    assert len(set(kinds)) == len(kinds) and set(PAYLOAD_MODELS) == set(EventKind)


def test_the_broker_values_are_the_same_types_through_ports_and_schemas() -> None:
    assert (ports.AccountState, ports.AssetInfo) == (schemas.AccountState, schemas.AssetInfo)
