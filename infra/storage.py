"""The append-only event table, the Powertools idempotency table and the two key secrets
(SPEC §7, §8)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from llmtrade.environment import ACCOUNT_INDEX, ACCOUNT_INDEX_KEYS, TABLE_KEYS
from llmtrade.workflow import SEAL_RETENTION_DAYS

from infra import acknowledge

# Two secrets, because an IAM grant is per secret: the checkpoint function must not be able to read
# the research providers' keys. The price of that least privilege: $0.40 a month more.
LLM_KEYS = "llm-keys"  # {OPENROUTER_API_KEY, PERPLEXITY_API_KEY, GEMINI_API_KEY}: research, council
# every Alpaca pair <key_env>_KEY_ID / <key_env>_SECRET_KEY: execute, checkpoint
BROKER_KEYS = "broker-keys"


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Items: pk WEEK#<week_id>, sk <account>#<kind>#<subject>; the index reads one account
        # across weeks.
        self.table = dynamodb.Table(
            self,
            "Events",
            partition_key=dynamodb.Attribute(name=TABLE_KEYS[0],
                                             type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=TABLE_KEYS[1], type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The event history is the product: neither a stack deletion nor a stray console click
            # takes it.
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=ACCOUNT_INDEX,
            partition_key=dynamodb.Attribute(name=ACCOUNT_INDEX_KEYS[0],
                                             type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=ACCOUNT_INDEX_KEYS[1],
                                        type=dynamodb.AttributeType.STRING),
            # keys only: the store reads the events it lists from the table (not every write twice)
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.account_index_arn = f"{self.table.table_arn}/index/{ACCOUNT_INDEX}"

        # Powertools idempotency records (its default key and TTL attribute names): short-lived,
        # so no RETAIN.
        self.idempotency_table = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                # a few KB: costs nothing, and cdk-nag's packs ask for it
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # Each week's seal (its decisions, config and code, fixed before the first order) under
        # Object Lock in compliance mode: not even the account's root can rewrite or delete one
        # before its retention ends. Versioned (Object Lock requires it): a rerun's put adds a
        # version and the first stays.
        self.seal_bucket = s3.Bucket(
            self,
            "Seals",
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(SEAL_RETENTION_DAYS)),
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(self.seal_bucket, "AwsSolutions-S1",
                    "Private bucket of a few KB a week, written by one function's role only; "
                    "CloudTrail records its API calls.")

        # Filled in by the user after the first deploy (`llmtrade secrets put`), each one JSON
        # object.
        stack_name = Stack.of(self).stack_name
        self.llm_secret = self._secret(
            "LlmKeys", f"{stack_name}/{LLM_KEYS}",
            "llmtrade LLM and research provider keys (research, council)")
        self.broker_secret = self._secret(
            "BrokerKeys", f"{stack_name}/{BROKER_KEYS}",
            "llmtrade Alpaca paper account keys (execute, checkpoint)")

    def _secret(self, construct_id: str, name: str, description: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(self, construct_id, secret_name=name,
                                       description=description)
        acknowledge(secret, "AwsSolutions-SMG4",
                    "Third-party API keys (OpenRouter, Alpaca, ...) are rotated at the provider by "
                    "the user; Secrets Manager cannot rotate them.")
        return secret
