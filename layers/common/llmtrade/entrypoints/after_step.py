"""What runs after a step, in the Lambda handler: its metrics, the week's report pages and
notification.

Above the steps and the reports: it reads what a finished step recorded and publishes from it, so a
failure here never loses a step's work (the step's events are stored before it runs). Each helper
imports the payload types it reads: a step after which it has nothing to do does not load them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from llmtrade.environment import Metric
from llmtrade.schemas import SHARED_ACCOUNT, canonical_json
from llmtrade.services import Services

if TYPE_CHECKING:
    from llmtrade.adapters.store.reports import ReportStore


class PowertoolsMetrics:
    """CloudWatch embedded metric format through Powertools. Metrics without dimensions are flushed
    by the handler's `log_metrics`; a dimensioned one is its own record (single_metric), so its
    dimension does not leak onto the others. Every record also carries Powertools' `service`
    dimension (llmtrade)."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics

    def put(self, name: str, value: float, unit: Literal["Count", "None"] = "Count",
            **dimensions: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        metric_unit = MetricUnit.Count if unit == "Count" else MetricUnit.NoUnit
        if not dimensions:
            self._metrics.add_metric(name=name, unit=metric_unit, value=value)
            return
        with single_metric(name=name, unit=metric_unit, value=value,
                           namespace=self._metrics.namespace,
                           default_dimensions=self._metrics.default_dimensions) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)


def step_metrics(services: Services, payload: Mapping[str, Any], result: Mapping[str, Any],
                 since: datetime) -> None:
    """The metrics a finished step stands for, read from its result and the events it recorded (the
    steps themselves stay free of metrics): WeeklyRunCompleted, LLMCostUSD and AccountEquityUSD at
    week_summary; OrdersPlaced / OrdersRejected for the orders a step recorded since `since` (a
    rerun counts none again); AccountEquityUSD after each checkpoint. open_checkpoint puts
    CheckpointRan / CheckpointSkipped itself."""
    action, run = payload.get("action"), payload.get("run") or {}
    if action == "week_summary":
        _week_metrics(services, run["week_id"])
    elif action in ("execute", "checkpoint_account") and result.get("orders"):
        _order_metrics(services, run["week_id"], result["account_id"], result["orders"], since)
    if action == "checkpoint_account":
        at = datetime.fromisoformat(run["at"])
        equity: Decimal = services.broker_at(at).account(result["account_id"]).equity
        services.metrics.put(Metric.ACCOUNT_EQUITY_USD, float(equity), "None",
                             account=result["account_id"])


def _week_metrics(services: Services, week_id: str) -> None:
    from llmtrade.schemas import WeekSummary

    summary = services.events.get(WeekSummary, week_id, SHARED_ACCOUNT)
    if summary is None:
        return
    sink = services.metrics
    sink.put(Metric.WEEKLY_RUN_COMPLETED, 1)
    sink.put(Metric.LLM_COST_USD, float(summary.llm_cost_usd + summary.research_cost_usd), "None")
    for account in summary.accounts:
        if account.equity is not None:
            sink.put(Metric.ACCOUNT_EQUITY_USD, float(account.equity), "None",
                     account=account.account_id)


def _order_metrics(services: Services, week_id: str, account_id: str, orders: Collection[str],
                   since: datetime) -> None:
    from llmtrade.schemas import OrderEvent

    recorded = [e for e in services.events.week(week_id, account_id).entries(OrderEvent)
                if e.subject in orders and e.recorded_at >= since]
    rejected = sum(1 for e in recorded if e.payload.rejected)
    if recorded:
        services.metrics.put(Metric.ORDERS_PLACED, len(recorded) - rejected)
        services.metrics.put(Metric.ORDERS_REJECTED, rejected)


# --------------------------------------------------------------------------- the seal
def archive_seal(services: Services, payload: Mapping[str, Any],
                 archive_at: Callable[[], Any]) -> str | None:
    """After the seal step: the week's seal to the Object Lock bucket, before any order (a failure
    fails the step; its redrive finds the seal and archives it again). `archive_at` builds the
    archive (None: none configured), called only after a seal step."""
    if payload.get("action") != "seal" or (archive := archive_at()) is None:
        return None
    from llmtrade.schemas import Seal

    week_id = str((payload.get("run") or {})["week_id"])
    seal = services.events.get(Seal, week_id, SHARED_ACCOUNT)
    if seal is None:
        return None
    return str(archive.put(week_id, canonical_json(seal.model_dump(mode="json"))))


# --------------------------------------------------------------------------- reports
REPORTING_ACTIONS = ("week_summary", "settle_previous_week")


def publish_reports(services: Services, payload: Mapping[str, Any], result: Mapping[str, Any],
                    reports_at: Callable[[], Any],
                    notify: Callable[..., None] | None) -> str | None:
    """After the week summary (the week as it opens) and the settlement (the previous week, closed):
    the week's HTML page and the leaderboard to the report store, and for the summary a notification
    linking the page. Handler-side, after the step's events are stored, so a failure here never
    loses a step's work. `reports_at` builds the report store (None: none configured), called only
    after a reporting step."""
    action = payload.get("action")
    if action not in REPORTING_ACTIONS or (reports := reports_at()) is None:
        return None
    week_id = ((payload.get("run") or {}).get("week_id") if action == "week_summary"
               else result.get("week_id"))
    if not week_id or (action == "settle_previous_week" and not result.get("settled")):
        return None
    url = publish_week_report(services, str(week_id), reports)
    publish_leaderboard(services, reports)
    if notify is not None and action == "week_summary":
        notify(subject=f"llmtrade week {week_id}",
               message=_summary_text(services, str(week_id), url))
    return url


def _summary_text(services: Services, week_id: str, url: str) -> str:
    from llmtrade.schemas import WeekSummary

    summary = services.events.get(WeekSummary, week_id, SHARED_ACCOUNT)
    lines = [f"Week {week_id}: the weekly run is done.", ""]
    if summary is not None:
        lines += [f"- {a.account_id}: {a.direction.value} {a.instrument or ''} ({a.conviction:+d})"
                  f"{' - ' + a.note if a.note else ''}" for a in summary.accounts]
        lines += ["", f"LLM cost ${summary.llm_cost_usd:.2f}, "
                      f"research ${summary.research_cost_usd:.2f}."]
    lines += ["", f"Report (link valid up to 7 days): {url}"]
    return "\n".join(lines)


def sns_notifier(topic_arn: str) -> Callable[[str, str], None]:
    import boto3

    client = boto3.client("sns")

    def notify(subject: str, message: str) -> None:
        # SNS caps subjects at 100
        client.publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)

    return notify


def publish_week_report(services: Services, week_id: str, reports: ReportStore) -> str:
    """Render the week's page from its events, store it, and return the URL to open it (presigned
    on S3)."""
    # imported here: only the execute function publishes, and only after two of its steps
    from llmtrade.reports.week import week_report_html

    return reports.publish(f"weeks/{week_id}.html",
                           week_report_html(services.store, services.settings, week_id))


def publish_leaderboard(services: Services, reports: ReportStore) -> str:
    """The cross-week page, under one key (each publication replaces the last)."""
    from llmtrade.reports.leaderboard import leaderboard_report_html

    return reports.publish("leaderboard.html",
                           leaderboard_report_html(services.store, services.settings))
