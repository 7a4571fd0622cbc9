"""Research function: opens the week and freezes the research packs (SPEC §3.2)."""

from llmtrade.entrypoints import cold_start  # noqa: F401  first: no GC while it starts
from llmtrade.entrypoints.lambda_entry import make_handler

handler = make_handler("research")
