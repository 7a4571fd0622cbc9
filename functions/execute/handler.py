"""Execute function: each account's orders and the week summary (SPEC §3.6-§3.7)."""

from llmtrade.entrypoints import cold_start  # noqa: F401  first: no GC while it starts
from llmtrade.entrypoints.lambda_entry import make_handler

handler = make_handler("execute")
