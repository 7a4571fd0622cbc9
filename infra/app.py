"""The CDK app (cdk.json: `python3 infra/app.py`), checked by cdk-nag's AWS Solutions and
Serverless packs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script by the cdk CLI: make `infra` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra import REPO
from infra.stack import LlmTradeStack

STACK_NAME = "llmtrade"


def build_app(context: dict[str, Any] | None = None, *, outdir: str | None = None) -> App:
    """The app with cdk.json's context (feature flags, mode) under `context`, so that tests
    synthesize what `cdk synth` does. The CLI's own context (-c ...) still wins over both."""
    defaults = json.loads((REPO / "cdk.json").read_text()).get("context", {})
    app = App(context={**defaults, **(context or {})}, outdir=outdir)
    LlmTradeStack(app, STACK_NAME, stack_name=STACK_NAME,
                  description="llmtrade: weekly LLM investment council trading Alpaca paper "
                              "accounts")
    # cdk-nag 3 is a policy-validation plugin: a finding nobody acknowledged (with a reason, next to
    # the resource it is about) fails the synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True),
                                    ServerlessChecks(app, verbose=True))
    return app


if __name__ == "__main__":
    build_app().synth()
