"""The simulated market draws its normals without a call to `random.gauss` per draw (a walk takes
millions): they must be exactly the draws `gauss` gives, so the prices are those of its model."""

from __future__ import annotations

import random

from llmtrade.adapters.broker.sim_market import _normals


def test_the_draws_are_those_of_gauss_bit_for_bit() -> None:
    for seed in ("7:SPY:2024-01-02", "7:USO:2026-11-25", "11:TLT:2025-07-03", 0, 12345):
        for count in (0, 1, 2, 3, 211, 390, 391):
            rng = random.Random(seed)
            assert _normals(random.Random(seed), count) == [rng.gauss(0.0, 1.0)
                                                            for _ in range(count)]
