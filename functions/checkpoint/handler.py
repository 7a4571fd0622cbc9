"""Checkpoint function: daily snapshots, STAY/EXIT/FLIP/REDUCE from frozen indicators (SPEC §4)."""

from llmtrade.entrypoints import cold_start  # noqa: F401  first: no GC while it starts
from llmtrade.entrypoints.lambda_entry import make_handler

handler = make_handler("checkpoint")
