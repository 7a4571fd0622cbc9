"""Council function: PM pitches, anonymized peer reviews and the chairman (SPEC §3.3-§3.5)."""

from llmtrade.entrypoints import cold_start  # noqa: F401  first: no GC while it starts
from llmtrade.entrypoints.lambda_entry import make_handler

handler = make_handler("council")
