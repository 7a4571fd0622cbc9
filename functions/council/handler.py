"""Council function: PM pitches, anonymized peer reviews and the chairman (SPEC §3.3-§3.5)."""

from llmtrade.entrypoints.lambda_entry import make_handler

handler = make_handler("council")
