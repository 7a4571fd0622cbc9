"""The simulated market's shortcuts change none of its prices: it draws its normals without a call
to `random.gauss` per draw, and walks from stored month-end closes instead of from EPOCH (a walk
takes millions of draws); both must give exactly the floats of the plain walk."""

from __future__ import annotations

import json
import random

from llmtrade.adapters.broker.sim_market import ANCHORS, ANCHORS_UNTIL, _normals, month_end_closes
from llmtrade.config import Settings


def test_the_draws_are_those_of_gauss_bit_for_bit() -> None:
    for seed in ("7:SPY:2024-01-02", "7:USO:2026-11-25", "11:TLT:2025-07-03", 0, 12345):
        for count in (0, 1, 2, 3, 211, 390, 391):
            rng = random.Random(seed)
            assert _normals(random.Random(seed), count) == [rng.gauss(0.0, 1.0)
                                                            for _ in range(count)]


def test_the_stored_month_ends_are_the_walk_from_epoch_for_the_default_universe(
        settings: Settings) -> None:
    # also fails when the calibration, the universe or the walk changed without a new file
    # (`python -m llmtrade.adapters.broker.sim_market` writes it)
    stored = json.loads(ANCHORS.read_text())
    assert stored == month_end_closes(settings.assets, 7, ANCHORS_UNTIL)
