"""What a step runs within: its function's environment (validated once), the kill switch, metrics.

Below the services: the steps and the local runner use the env kill switch and `NoMetrics`;
Powertools is imported lazily, only by the SSM kill switch (the Powertools metric sink lives with
the Lambda entry).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llmtrade.workflow import FUNCTION_SPECS, Function


# --------------------------------------------------------------------------- environment
class EnvironmentInvalid(RuntimeError):
    """A function's environment does not hold what the contract gives it; names the variables."""


class FunctionEnvironment(BaseModel):
    """The environment infra gives every function (infra/functions.py), checked at cold start."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    function: Function
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    mode: Literal["offline", "live"] = Field(alias="LLMTRADE_MODE")
    kill_switch_parameter: str = Field(alias="KILL_SWITCH_PARAMETER", min_length=1)
    service_name: Literal["llmtrade"] = Field(alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: Literal["llmtrade"] = Field(alias="POWERTOOLS_METRICS_NAMESPACE")
    log_level: str = Field("INFO", alias="POWERTOOLS_LOG_LEVEL")
    llm_secret_arn: str | None = Field(None, alias="LLM_SECRET_ARN", min_length=1)
    broker_secret_arn: str | None = Field(None, alias="BROKER_SECRET_ARN", min_length=1)
    report_bucket: str | None = Field(None, alias="REPORT_BUCKET", min_length=1)
    alerts_topic_arn: str | None = Field(None, alias="ALERTS_TOPIC_ARN", min_length=1)

    @model_validator(mode="after")
    def _what_this_function_needs(self) -> FunctionEnvironment:
        # each function is granted one secret only (least privilege): workflow.FUNCTION_SPECS
        spec = FUNCTION_SPECS[self.function]
        if not self.secret_arn:
            raise ValueError(f"{spec.secret_variable}: required by the {self.function} function")
        if spec.publishes_reports and not self.report_bucket:
            raise ValueError(f"REPORT_BUCKET: required by the {self.function} function")
        return self

    @property
    def secret_arn(self) -> str:
        """The ARN of the one secret this function reads."""
        if FUNCTION_SPECS[self.function].secret_variable == "LLM_SECRET_ARN":
            return self.llm_secret_arn or ""
        return self.broker_secret_arn or ""

    @classmethod
    def load(cls, function: Function,
             environ: Mapping[str, str] = os.environ) -> FunctionEnvironment:
        try:
            return cls.model_validate({**environ, "function": function})
        except ValidationError as exc:
            # name the variables and what is wrong; never echo values
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"]
                        else e["msg"].removeprefix("Value error, ") for e in exc.errors()]
            raise EnvironmentInvalid(f"the {function} function's environment is invalid: "
                                     + "; ".join(problems)) from None


# --------------------------------------------------------------------------- kill switch
KILL_SWITCH_VARIABLE = "LLMTRADE_KILL_SWITCH"
KillSwitch = Callable[[], str | None]  # why runs are disabled now, or None


def _verdict(value: str, where: str) -> str | None:
    state = value.strip().lower()
    if state == "enabled":
        return None
    if state == "disabled":
        return f"the kill switch ({where}) is disabled: no model is called and no order placed"
    # a typo must not silently trade (nor silently stop): fail the step, so the failure alarm fires
    raise ValueError(f"the kill switch ({where}) must be 'enabled' or 'disabled', not {value!r}")


def env_kill_switch() -> str | None:
    """Locally: LLMTRADE_KILL_SWITCH=disabled stops runs (unset: enabled)."""
    return _verdict(os.environ.get(KILL_SWITCH_VARIABLE) or "enabled", KILL_SWITCH_VARIABLE)


def ssm_kill_switch(parameter: str) -> KillSwitch:
    """In AWS: the SSM parameter, cached 60 s by Powertools (a flip counts within a minute)."""

    def disabled() -> str | None:
        from aws_lambda_powertools.utilities import parameters

        on_default_session("ssm")
        return _verdict(parameters.get_parameter(parameter, max_age=60),
                        f"SSM parameter {parameter}")

    return disabled


def on_default_session(provider: Literal["ssm", "secrets"]) -> None:
    """Powertools' default parameters provider (`get_parameter`, `get_secret`) on a client of
    boto3's default session, the one every other client uses: the provider's own session would load
    botocore's data a second time at a cold start (~0.1 s). Powertools' clear_caches() still clears
    its cache."""
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    if provider not in DEFAULT_PROVIDERS:
        DEFAULT_PROVIDERS[provider] = (
            parameters.SSMProvider(boto3_client=boto3.client("ssm")) if provider == "ssm"
            else parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager")))


# --------------------------------------------------------------------------- metrics
class Metric(StrEnum):
    """Custom metrics (namespace llmtrade): put by the code, read by infra's alarms and board."""

    WEEKLY_RUN_COMPLETED = "WeeklyRunCompleted"
    LLM_COST_USD = "LLMCostUSD"
    ACCOUNT_EQUITY_USD = "AccountEquityUSD"  # dimension: account
    ORDERS_PLACED = "OrdersPlaced"
    ORDERS_REJECTED = "OrdersRejected"
    CHECKPOINT_RAN = "CheckpointRan"
    CHECKPOINT_SKIPPED = "CheckpointSkipped"  # dimension: reason


class MetricSink(Protocol):
    def put(self, name: Metric, value: float, unit: Literal["Count", "None"] = "Count",
            **dimensions: str) -> None:
        """One data point of a custom metric (namespace llmtrade)."""


class NoMetrics:
    """Local runs publish nothing."""

    def put(self, name: Metric, value: float, unit: Literal["Count", "None"] = "Count",
            **dimensions: str) -> None:
        return None


@dataclass
class RecordedMetrics:
    """Keeps what was put (tests)."""

    points: list[tuple[str, float, str, dict[str, str]]] = field(default_factory=list)

    def put(self, name: Metric, value: float, unit: Literal["Count", "None"] = "Count",
            **dimensions: str) -> None:
        self.points.append((name, value, unit, dimensions))


# --------------------------------------------------------------------------- the event table
# The DynamoDB table infra gives the functions (infra/storage.py) and the store adapters read: its
# key attributes, and the index that lists one account's events (of one kind) across weeks: keys
# only, sorted by the event's kind (adapters/store/dynamodb.py). It replaced `by_account` (whole
# items, sorted by week): an index's projection cannot change in place, so it has a new name.
TABLE_KEYS = ("pk", "sk")
ACCOUNT_INDEX = "by_account_kind"
ACCOUNT_INDEX_KEYS = ("gsi1pk", "kind")
