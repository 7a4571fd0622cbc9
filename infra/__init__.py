"""The CDK app: tables, secrets, Lambda functions, state machines, schedules and operations
(SPEC §9)."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "config"

# infra compiles the state machines from llmtrade.workflow; make it importable without an install.
if str(REPO / "layers" / "common") not in sys.path:
    sys.path.append(str(REPO / "layers" / "common"))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one cdk-nag finding (e.g. `AwsSolutions-IAM5[Resource::*]`) on scope and its
    children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def nag_ref(scope: IConstruct, arn: str) -> str:
    """cdk-nag's flat spelling of an ARN token (`<LogicalId.Arn>`), to acknowledge a finding on
    it."""
    resolved = Stack.of(scope).resolve(arn)
    logical_id, attribute = resolved["Fn::GetAtt"]
    return f"<{logical_id}.{attribute}>"
