"""The one stack: composes storage, functions, workflows and schedules."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct
from llmtrade.config import load_settings

from infra import CONFIG_DIR
from infra.functions import Functions
from infra.schedules import Schedules
from infra.storage import Storage
from infra.workflows import Workflows


class LlmTradeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = load_settings(CONFIG_DIR)  # a config error fails the synth, before anything deploys
        storage = Storage(self, "Storage")
        functions = Functions(self, "Functions", table=storage.table, secret=storage.secret,
                              mode=self.node.try_get_context("mode") or "offline")
        workflows = Workflows(self, "Workflows", functions=functions.by_name)
        machines = workflows.state_machines
        Schedules(self, "Schedules", schedule=settings.schedule,
                  weekly=machines["weekly"], checkpoint=machines["checkpoint"])

        CfnOutput(self, "EventTableName", value=storage.table.table_name)
        CfnOutput(self, "KeysSecretName", value=storage.secret_name,
                  description="Put the API keys here as one JSON object")
        for name, state_machine in workflows.state_machines.items():
            CfnOutput(self, f"{name.capitalize()}StateMachineArn", value=state_machine.state_machine_arn)
