from __future__ import annotations

import pytest
from llmtrade.schemas import OrderRequest, PitchAnswer
from pydantic import ValidationError

PITCH = {
    "instrument": "SPY", "direction": "LONG", "thesis_bullets": ["b"], "invalidation": "i", "conviction": 2,
    "indicators": [{"name": "n", "measure": "price", "instrument": "SPY", "comparison": ">", "threshold": 1.0,
                    "role": "confirms"}],
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
def test_pitch_rules(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PitchAnswer.model_validate({**PITCH, **change})


def test_orders_are_whole_positive_shares_with_a_bounded_client_id() -> None:
    with pytest.raises(ValidationError):
        OrderRequest(symbol="SPY", qty=0, side="buy", client_order_id="x")
    with pytest.raises(ValidationError):
        OrderRequest(symbol="SPY", qty=1, side="buy", client_order_id="x" * 129)
