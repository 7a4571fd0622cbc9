"""One entry point for every step: the Lambda handlers and the local runner both call `handle`.

What runs comes from the workflow declaration (llmtrade.workflow): the task's implementation,
imported on first use (a function imports only the step modules it serves), and the run keys its
workflow's steps take. The kill switch is checked here, once, before every guarded task.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

from llmtrade.mechanics.run_control import halted
from llmtrade.run_keys import StepInput
from llmtrade.schemas import SHARED_ACCOUNT
from llmtrade.services import Services
from llmtrade.workflow import TASKS, Function, Task

Implementation = Callable[..., dict[str, Any]]


class UnknownAction(ValueError):
    pass


@cache
def implementation(task: Task) -> Implementation:
    """The step function a task names (`module:function`)."""
    module, _, name = task.implementation.partition(":")
    found: Implementation = getattr(importlib.import_module(module), name)
    return found


def handle(function: Function, payload: dict[str, Any], services: Services) -> dict[str, Any]:
    """Run the step a workflow state asks for; returns its small result (keys, ids, statuses)."""
    step = StepInput.model_validate(payload)
    workflow, task = TASKS.get(step.action, (None, None))
    if workflow is None or task is None or task.function != function:
        raise UnknownAction(f"the {function} function does not serve action {step.action!r}")
    run_step = implementation(task)
    # the execution input, and the execution's name (to claim a scheduled run)
    if task is workflow.opening:
        return run_step(services, step.input or {}, step.execution)
    run = workflow.run_keys.model_validate(step.run)
    # A run already past its opening when the switch was turned off stops at its next guarded task,
    # with the reason recorded; rerunning the step once the switch is back on does the work.
    if task.guarded and (stopped := halted(services, run.week_id, step.item or SHARED_ACCOUNT,
                                           task.name)):
        poll = workflow.poll_checked_by(task)  # a poll's loop must end: the steps after it stop too
        return {**stopped, poll.done_key: True} if poll else stopped
    return run_step(services, run, step.item) if step.item is not None else run_step(services, run)
