"""The seal of a week's decisions: recorded before its first order (steps/seal.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from llmtrade.schemas.basics import Strict


class Seal(Strict):
    """What the week decided on, fixed before any order: every research pack, pitch, review, model
    failure and the chairman's decision by event id and chain hash, with the config and the code
    in force. `digest` is the SHA-256 of all of it (llmtrade.mechanics.provenance.seal_digest)."""

    week_id: str
    sealed_at: datetime
    events: dict[str, str] = Field(description="event id -> its chain hash")
    config_hash: str
    code_version: str
    digest: str
