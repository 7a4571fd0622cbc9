"""The append-only event table and the one secret holding every API key (SPEC §7, §8)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from llmtrade.adapters.dynamodb_store import ACCOUNT_INDEX

from infra import acknowledge


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Items: pk WEEK#<week_id>, sk <account>#<kind>#<subject>; the index reads one account across weeks.
        self.table = dynamodb.Table(
            self,
            "Events",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The event history is the product: a stack deletion must never take it along.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=ACCOUNT_INDEX,
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

        # One JSON object of all keys (OpenRouter, Perplexity, Gemini, Alpaca per account), filled in by the
        # user after the first deploy (`aws secretsmanager put-secret-value --secret-id llmtrade/keys`).
        self.secret_name = f"{Stack.of(self).stack_name}/keys"
        self.secret = secretsmanager.Secret(
            self,
            "Keys",
            secret_name=self.secret_name,
            description="llmtrade API keys: one JSON object, key name -> value",
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Third-party API keys (OpenRouter, Alpaca, ...) are rotated at the provider by the user; "
            "Secrets Manager cannot rotate them.",
        )
