"""What runs around the steps: a function's environment (validated once), the kill switch, and metrics.

Powertools is imported lazily, only by the cloud implementations: the steps and the local runner use
the env kill switch and `NoMetrics`, and never need it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llmtrade.workflow import Function

if TYPE_CHECKING:
    from llmtrade.services import Services

# --------------------------------------------------------------------------- environment
SECRET_VARIABLE: dict[Function, str] = {"research": "LLM_SECRET_ARN", "council": "LLM_SECRET_ARN",
                                        "execute": "BROKER_SECRET_ARN", "checkpoint": "BROKER_SECRET_ARN"}


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
        # each function is granted one secret only (least privilege): research and council the LLM keys,
        # execute and checkpoint the broker keys
        wanted = SECRET_VARIABLE[self.function]
        if not (self.llm_secret_arn if wanted == "LLM_SECRET_ARN" else self.broker_secret_arn):
            raise ValueError(f"{wanted}: required by the {self.function} function")
        if self.function == "execute" and not self.report_bucket:
            raise ValueError("REPORT_BUCKET: required by the execute function")
        return self

    @property
    def secret_arn(self) -> str:
        return (self.llm_secret_arn if SECRET_VARIABLE[self.function] == "LLM_SECRET_ARN"
                else self.broker_secret_arn) or ""

    @classmethod
    def load(cls, function: Function, environ: Mapping[str, str] = os.environ) -> FunctionEnvironment:
        try:
            return cls.model_validate({**environ, "function": function})
        except ValidationError as exc:
            # name the variables and what is wrong; never echo values
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"].removeprefix(
                "Value error, ") for e in exc.errors()]
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
    """In AWS: the SSM parameter, cached 60 s by Powertools (a flip takes effect within a minute)."""

    def disabled() -> str | None:
        from aws_lambda_powertools.utilities import parameters

        return _verdict(parameters.get_parameter(parameter, max_age=60), f"SSM parameter {parameter}")

    return disabled


# --------------------------------------------------------------------------- metrics
class MetricSink(Protocol):
    def put(self, name: str, value: float, unit: Literal["Count", "None"] = "Count", **dimensions: str) -> None:
        """One data point of a custom metric (namespace llmtrade)."""


class NoMetrics:
    """Local runs publish nothing."""

    def put(self, name: str, value: float, unit: Literal["Count", "None"] = "Count", **dimensions: str) -> None:
        return None


@dataclass
class RecordedMetrics:
    """Keeps what was put (tests)."""

    points: list[tuple[str, float, str, dict[str, str]]] = field(default_factory=list)

    def put(self, name: str, value: float, unit: Literal["Count", "None"] = "Count", **dimensions: str) -> None:
        self.points.append((name, value, unit, dimensions))


class PowertoolsMetrics:
    """CloudWatch embedded metric format through Powertools. Metrics without dimensions are flushed by the
    handler's `log_metrics`; a dimensioned one is its own record (single_metric), so its dimension does not
    leak onto the others. Every record also carries Powertools' `service` dimension (llmtrade)."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics

    def put(self, name: str, value: float, unit: Literal["Count", "None"] = "Count", **dimensions: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        metric_unit = MetricUnit.Count if unit == "Count" else MetricUnit.NoUnit
        if not dimensions:
            self._metrics.add_metric(name=name, unit=metric_unit, value=value)
            return
        with single_metric(name=name, unit=metric_unit, value=value, namespace=self._metrics.namespace,
                           default_dimensions=self._metrics.default_dimensions) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)


def step_metrics(services: Services, payload: Mapping[str, Any], result: Mapping[str, Any],
                 since: datetime) -> None:
    """The metrics a finished step stands for, read from its result and the events it recorded (the steps
    themselves stay free of metrics): WeeklyRunCompleted, LLMCostUSD and AccountEquityUSD at week_summary;
    OrdersPlaced / OrdersRejected for the orders a step recorded since `since` (a rerun counts none again);
    AccountEquityUSD after each checkpoint. open_checkpoint puts CheckpointRan / CheckpointSkipped itself."""
    from llmtrade.schemas import SHARED_ACCOUNT, EventKind, OrderEvent, WeekSummary

    action, run, sink, store = payload.get("action"), payload.get("run") or {}, services.metrics, services.store
    if action == "week_summary":
        event = store.get(run["week_id"], SHARED_ACCOUNT, EventKind.WEEK_SUMMARY)
        if event is None:
            return
        summary = WeekSummary.model_validate(event.payload)
        sink.put("WeeklyRunCompleted", 1)
        sink.put("LLMCostUSD", float(summary.llm_cost_usd + summary.research_cost_usd), "None")
        for account in summary.accounts:
            if account.equity is not None:
                sink.put("AccountEquityUSD", float(account.equity), "None", account=account.account_id)
    elif action in ("execute", "checkpoint_account") and result.get("orders"):
        account_id = result["account_id"]
        recorded = [e for e in store.list_week(run["week_id"], account_id)
                    if e.kind is EventKind.ORDER and e.subject in result["orders"] and e.recorded_at >= since]
        rejected = sum(1 for e in recorded if OrderEvent.model_validate(e.payload).rejected)
        if recorded:
            sink.put("OrdersPlaced", len(recorded) - rejected)
            sink.put("OrdersRejected", rejected)
    if action == "checkpoint_account":
        at = datetime.fromisoformat(run["at"])
        equity: Decimal = services.broker_at(at).account(result["account_id"]).equity
        sink.put("AccountEquityUSD", float(equity), "None", account=result["account_id"])


# --------------------------------------------------------------------------- reports
REPORTING_ACTIONS = ("week_summary", "settle_previous_week")


def publish_reports(services: Services, payload: Mapping[str, Any], result: Mapping[str, Any],
                    reports: Any, notify: Callable[..., None] | None) -> str | None:
    """After the week summary (the week as it opens) and the settlement (the previous week, closed): the week's
    HTML page and the leaderboard to the report store, and for the summary a notification linking the page.
    Handler-side, after the step's events are stored, so a failure here never loses a step's work."""
    action = payload.get("action")
    if action not in REPORTING_ACTIONS or reports is None:
        return None
    from llmtrade.reports import publish_leaderboard, publish_week_report

    week_id = (payload.get("run") or {}).get("week_id") if action == "week_summary" else result.get("week_id")
    if not week_id or (action == "settle_previous_week" and not result.get("settled")):
        return None
    url = publish_week_report(services, str(week_id), reports)
    publish_leaderboard(services, reports)
    if notify is not None and action == "week_summary":
        notify(subject=f"llmtrade week {week_id}", message=_summary_text(services, str(week_id), url))
    return url


def _summary_text(services: Services, week_id: str, url: str) -> str:
    from llmtrade.schemas import SHARED_ACCOUNT, EventKind, WeekSummary

    event = services.store.get(week_id, SHARED_ACCOUNT, EventKind.WEEK_SUMMARY)
    lines = [f"Week {week_id}: the weekly run is done.", ""]
    if event is not None:
        summary = WeekSummary.model_validate(event.payload)
        lines += [f"- {a.account_id}: {a.direction.value} {a.instrument or ''} ({a.conviction:+d})"
                  f"{' - ' + a.note if a.note else ''}" for a in summary.accounts]
        lines += ["", f"LLM cost ${summary.llm_cost_usd:.2f}, research ${summary.research_cost_usd:.2f}."]
    lines += ["", f"Report (link valid up to 7 days): {url}"]
    return "\n".join(lines)


def sns_notifier(topic_arn: str) -> Callable[[str, str], None]:
    import boto3

    client = boto3.client("sns")

    def notify(subject: str, message: str) -> None:
        client.publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)  # SNS caps subjects at 100

    return notify
