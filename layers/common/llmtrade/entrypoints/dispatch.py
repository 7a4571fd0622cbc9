"""One entry point for every step: the Lambda handlers and the local runner both call `handle`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmtrade.run_keys import CheckpointRun, StepInput, WeekRun
from llmtrade.services import Services
from llmtrade.steps import checkpoint, council, execute, postmortem, research, week
from llmtrade.workflow import WORKFLOWS, Function

# action → (implementation, the run keys it takes; None: an opening step, given the execution input)
ACTIONS: dict[str, tuple[Callable[..., dict[str, Any]], type[WeekRun] | type[CheckpointRun] | None]] = {
    "open_week": (week.open_week, None),
    "settle_previous_week": (postmortem.settle_previous_week, WeekRun),
    "research_start": (research.research_start, WeekRun),
    "research_check": (research.research_check, WeekRun),
    "pitch": (council.pitch, WeekRun),
    "review": (council.review, WeekRun),
    "chairman": (council.chairman, WeekRun),
    "execute": (execute.execute, WeekRun),
    "week_summary": (week.week_summary, WeekRun),
    "open_checkpoint": (checkpoint.open_checkpoint, None),
    "checkpoint_account": (checkpoint.checkpoint_account, CheckpointRun),
}

FUNCTION_OF: dict[str, Function] = {t.name: t.function for w in WORKFLOWS.values() for t in w.tasks()}


class UnknownAction(ValueError):
    pass


def handle(function: Function, payload: dict[str, Any], services: Services) -> dict[str, Any]:
    """Run the step a workflow state asks for; returns its small result (keys, ids, statuses)."""
    step = StepInput.model_validate(payload)
    if FUNCTION_OF.get(step.action) != function:
        raise UnknownAction(f"the {function} function does not serve action {step.action!r}")
    implementation, keys = ACTIONS[step.action]
    if keys is None:  # an opening: the execution input, and the execution's name (to claim a scheduled run)
        return implementation(services, step.input or {}, step.execution)
    run = keys.model_validate(step.run)
    return implementation(services, run, step.item) if step.item is not None else implementation(services, run)
