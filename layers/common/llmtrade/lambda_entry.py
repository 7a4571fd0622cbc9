"""The shared body of the four Lambda handlers: log, parse, build adapters once, call `handle`."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from llmtrade.app import handle
from llmtrade.services import Services, services_from_environment
from llmtrade.workflow import Function

logger = Logger(service="llmtrade")


@cache
def _services_for(table: str | None, mode: str | None, secret: str | None) -> Services:
    return services_from_environment()


def _cached_services() -> Services:
    """Built on the first invocation and reused while the execution environment is warm."""
    return _services_for(*(os.environ.get(k) for k in ("TABLE_NAME", "LLMTRADE_MODE", "SECRET_ARN")))


def make_handler(function: Function) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.append_keys(function=function, action=event.get("action"),
                           week_id=(event.get("run") or {}).get("week_id"), item=event.get("item"))
        result = handle(function, event, _cached_services())
        logger.info("step done", extra={"result": result})
        return result

    return handler
