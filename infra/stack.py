"""The one stack: composes storage, operations, functions, workflows and schedules."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, CfnOutput, Stack
from constructs import Construct
from llmtrade.config import load_settings

from infra import CONFIG_DIR
from infra.dependencies import RoleOrderedByGetAtt
from infra.functions import Functions, fan_out_widths
from infra.operations import Operations
from infra.schedules import Schedules
from infra.storage import Storage
from infra.trade_offs import CheckovSkips
from infra.workflows import Workflows


def context_flag(scope: Construct, name: str, *, default: bool) -> bool:
    """A true/false context value: a boolean from cdk.json, a string from `-c name=true`."""
    value = scope.node.try_get_context(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise ValueError(f"context {name!r} must be true or false, not {value!r}")


class LlmTradeStack(Stack):
    """Context: `mode` (offline | live), the optional `alerts_email` that receives the alerts,
    `dashboard` (false: the CloudWatch dashboard costs $3 a month) and `reserved_concurrency`
    (true; false only for an account whose concurrency quota is too low to reserve any)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = load_settings(CONFIG_DIR)  # a config error fails the synth before any deploy
        storage = Storage(self, "Storage")
        operations = Operations(self, "Operations",
                                alerts_email=self.node.try_get_context("alerts_email") or None,
                                dashboard=context_flag(self, "dashboard", default=False))
        fan_out_items = {"pm_accounts": len(settings.pm_accounts),
                         "accounts": len(settings.accounts.accounts)}
        functions = Functions(self, "Functions", storage=storage,
                              kill_switch=operations.kill_switch,
                              report_bucket=operations.report_bucket, alerts=operations.alerts,
                              alerts_key=operations.alerts_key,
                              mode=self.node.try_get_context("mode") or "offline",
                              reserved_concurrency=fan_out_widths(fan_out_items)
                              if context_flag(self, "reserved_concurrency", default=True)
                              else None)
        workflows = Workflows(self, "Workflows", functions=functions.by_name)
        machines = workflows.state_machines
        Schedules(self, "Schedules", schedule=settings.schedule, weekly=machines["weekly"],
                  checkpoint=machines["checkpoint"], dead_letters=operations.dead_letters)
        operations.watch(state_machines=machines, functions=functions.by_name)
        Aspects.of(self).add(RoleOrderedByGetAtt())  # cfn-lint W3005
        Aspects.of(self).add(CheckovSkips())  # the scan's findings accepted on purpose

        CfnOutput(self, "EventTableName", value=storage.table.table_name)
        CfnOutput(self, "LlmKeysSecretName", value=storage.llm_secret.secret_name,
                  description="OPENROUTER_API_KEY, PERPLEXITY_API_KEY, GEMINI_API_KEY as one "
                              "JSON object")
        CfnOutput(self, "BrokerKeysSecretName", value=storage.broker_secret.secret_name,
                  description="Every Alpaca <key_env>_KEY_ID / <key_env>_SECRET_KEY as one "
                              "JSON object")
        CfnOutput(self, "KillSwitchParameter", value=operations.kill_switch.parameter_name)
        CfnOutput(self, "ReportBucketName", value=operations.report_bucket.bucket_name)
        CfnOutput(self, "AlertsTopicArn", value=operations.alerts.topic_arn)
        for name, state_machine in machines.items():
            CfnOutput(self, f"{name.capitalize()}StateMachineArn",
                      value=state_machine.state_machine_arn)
