"""The registry in llmtrade.workflow: every task's implementation, every function's settings, the
metric names and the schedule's moments, each declared once and complete."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from datetime import date, datetime

import pytest
from llmtrade.config import Settings
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.dispatch import implementation
from llmtrade.environment import EnvironmentInvalid, FunctionEnvironment, Metric
from llmtrade.workflow import (
    FUNCTION_SPECS,
    FUNCTIONS,
    TASKS,
    WORKFLOWS,
    FanOut,
    Function,
    Need,
    Task,
    Workflow,
)

DECLARED = [(workflow, task) for workflow in WORKFLOWS.values() for task in workflow.tasks()]


def in_fan_out(workflow: Workflow, task: Task) -> bool:
    return any(isinstance(s, FanOut) and s.task == task for s in workflow.steps)


def test_task_names_are_unique_over_all_workflows() -> None:
    assert len(TASKS) == len(DECLARED)


@pytest.mark.parametrize(("workflow", "task"), DECLARED, ids=[t.name for _, t in DECLARED])
def test_every_implementation_resolves_to_a_step_taking_what_its_state_passes(workflow: Workflow,
                                                                                task: Task) -> None:
    step = implementation(task)
    assert callable(step) and task.implementation.startswith("llmtrade.steps.")
    parameters = list(inspect.signature(step).parameters.values())
    hints = typing.get_type_hints(step)
    if task is workflow.opening:  # (services, execution input, execution name)
        assert len(parameters) == 3 and parameters[2].default is None
        assert hints[parameters[1].name] == dict[str, typing.Any]
    else:  # (services, run keys) or, in a fan-out, (services, run keys, item)
        assert len(parameters) == (3 if in_fan_out(workflow, task) else 2)
        assert hints[parameters[1].name] is workflow.run_keys


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_is_declared_completely(function: Function) -> None:
    spec = FUNCTION_SPECS[function]
    assert spec.needs and spec.needs <= set(typing.get_args(Need))
    assert spec.memory_mb in (128, 256, 512, 1024)
    assert any(t.function == function for _, t in DECLARED)  # it serves a task
    # the secret it is given is a variable its environment check knows, and is required
    aliases = {field.alias for field in FunctionEnvironment.model_fields.values()}
    assert spec.secret_variable in aliases
    environment = {"TABLE_NAME": "t", "IDEMPOTENCY_TABLE_NAME": "i", "LLMTRADE_MODE": "offline",
                   "KILL_SWITCH_PARAMETER": "/k", "POWERTOOLS_SERVICE_NAME": "llmtrade",
                   "POWERTOOLS_METRICS_NAMESPACE": "llmtrade"}
    with pytest.raises(EnvironmentInvalid, match=spec.secret_variable):
        FunctionEnvironment.load(function, environment)
    given = {**environment, spec.secret_variable: "arn:secret"}
    if spec.publishes_reports:
        with pytest.raises(EnvironmentInvalid, match="REPORT_BUCKET"):
            FunctionEnvironment.load(function, given)
        given["REPORT_BUCKET"] = "reports"
    assert FunctionEnvironment.load(function, given).secret_arn == "arn:secret"


def test_a_function_imports_only_the_steps_it_runs() -> None:
    """dispatch imports a step module when a task needs it: a function's cold start loads only its
    own."""
    code = ("import sys; from llmtrade.entrypoints import dispatch; "
            "from llmtrade.workflow import TASKS; "
            "before = {m for m in sys.modules if m.startswith('llmtrade.steps.')}; "
            "dispatch.implementation(TASKS['research_start'][1]); "
            "after = {m for m in sys.modules if m.startswith('llmtrade.steps.')}; "
            "print(sorted(before), sorted(after))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["[]", "['llmtrade.steps.research']"]


def test_metric_names_are_the_cloudwatch_names() -> None:
    assert {m.value for m in Metric} == {"WeeklyRunCompleted", "LLMCostUSD", "AccountEquityUSD",
                                         "OrdersPlaced", "OrdersRejected", "CheckpointRan",
                                         "CheckpointSkipped"}
    # formatted as its name (the dashboard's SEARCH)
    assert f"{Metric.ORDERS_PLACED}" == "OrdersPlaced"


# --------------------------------------------------------------------------- schedule
def test_the_weekly_run_moment(settings: Settings) -> None:
    schedule = settings.schedule
    assert schedule.weekly_run_at("2026-11-25") == datetime(2026, 11, 25, 8, 0, tzinfo=ET)
    # daylight time
    assert schedule.weekly_run_at(date(2026, 7, 1)).isoformat() == "2026-07-01T08:00:00-04:00"


def test_the_checkpoint_moments(settings: Settings) -> None:
    schedule = settings.schedule
    monday = schedule.checkpoint_moments(date(2026, 11, 30))
    assert [m.isoformat() for m in monday] == [
        "2026-11-30T09:00:00-05:00", "2026-11-30T12:00:00-05:00", "2026-11-30T14:00:00-05:00",
        "2026-11-30T15:50:00-05:00"]
    assert schedule.checkpoint_moments(date(2026, 11, 28)) == []  # a Saturday
