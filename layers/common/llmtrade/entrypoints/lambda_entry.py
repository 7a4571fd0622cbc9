"""The shared body of the four Lambda handlers: check the environment and build the function's own
services once (on the first invocation), then per invocation: log with the execution as
correlation id, call `handle`, publish the step's metrics; archive, publish and notify only after
the steps that do (each adapter built on first use: a cold start pays for what its step needs).

Tracing is Lambda's and Step Functions' active tracing, with no X-Ray SDK here: Powertools' Logger
puts the trace id (`xray_trace_id`) on every line. Powertools reads its settings from the
environment: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics

from llmtrade.entrypoints import cold_start
from llmtrade.entrypoints.after_step import (
    PowertoolsMetrics,
    archive_seal,
    publish_reports,
    sns_notifier,
    step_metrics,
)
from llmtrade.entrypoints.dispatch import handle
from llmtrade.services import Services
from llmtrade.wiring import services_from_environment
from llmtrade.workflow import Function

logger = Logger()


@cache
def _services_for(function: Function) -> Services:
    """Built on the first invocation and reused while the execution environment is warm; a bad
    environment fails here, naming the variable (llmtrade.environment.FunctionEnvironment)."""
    return services_from_environment(function)


@cache
def _report_store() -> Any:
    from llmtrade.adapters.store.reports import report_store_from_environment

    # None unless REPORT_BUCKET is set (the execute function)
    return report_store_from_environment()


@cache
def _seal_archive() -> Any:
    from llmtrade.adapters.store.seals import seal_archive_from_environment

    return seal_archive_from_environment()  # None unless SEAL_BUCKET is set (the sealing function)


@cache
def _idempotency() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(expires_after_seconds=8 * 24 * 3600)


@cache
def _notifier() -> Callable[..., None]:
    """The week's summary to the alerts topic, at most once per subject (week) over 8 days: a
    retried or rerun week_summary republishes the report but does not mail everyone again
    (Powertools Idempotency)."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        idempotent_function,
    )

    send = sns_notifier(os.environ["ALERTS_TOPIC_ARN"])
    # a client of boto3's default session: Powertools' own session would load botocore's data a
    # second time (~0.1 s)
    records = DynamoDBPersistenceLayer(os.environ["IDEMPOTENCY_TABLE_NAME"],
                                       boto3_client=boto3.client("dynamodb"))
    once = idempotent_function(data_keyword_argument="subject", persistence_store=records,
                               config=_idempotency())

    def notify(*, subject: str, message: str) -> None:
        send(subject, message)

    return cast(Callable[..., None], once(notify))  # Powertools' decorators carry no type hints


def _notify_on_first_use(context: Any) -> Callable[..., None] | None:
    """The notifier, built when a step first notifies (only week_summary does): the other steps
    do not pay for the idempotency layer and two AWS clients."""
    if not os.environ.get("ALERTS_TOPIC_ARN"):
        return None

    def notify(*, subject: str, message: str) -> None:
        send = _notifier()
        _idempotency().register_lambda_context(context)  # an in-progress record expires with it
        send(subject=subject, message=message)

    return notify


def _after_step(services: Services, event: dict[str, Any], result: dict[str, Any],
                context: Any) -> None:
    """The seal to its bucket, the reports and the summary (after_step): each adapter is built
    only for the steps that use it."""
    if key := archive_seal(services, event, _seal_archive):
        logger.info("seal archived", extra={"key": key})
    if publish_reports(services, event, result, _report_store, _notify_on_first_use(context)):
        logger.info("report published")


def make_handler(function: Function) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    metrics = Metrics()  # namespace and service from the environment

    @metrics.log_metrics(capture_cold_start_metric=True)
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = datetime.now(UTC)
        run = event.get("run") or {}
        # one correlation id per execution: every line of every function in one run carries it
        logger.set_correlation_id(event.get("execution"))
        logger.append_keys(function=function, action=event.get("action"),
                           week_id=run.get("week_id"), item=event.get("item"))
        try:
            services = dataclasses.replace(_services_for(function),
                                           metrics=PowertoolsMetrics(metrics))
            result = handle(function, event, services)
            # an opening finds it
            logger.append_keys(week_id=run.get("week_id") or result.get("week_id"))
            step_metrics(services, event, result, since=started)
            _after_step(services, event, result, context)
        finally:
            cold_start.resume()  # the collector is off until the first invocation ends
        logger.info("step done", extra={"result": result})
        return result

    # Powertools' decorators are untyped
    return cast(Callable[[dict[str, Any], Any], dict[str, Any]], handler)
