"""Runs a workflow declaration in-process, with the same state layout as the state machine.

Fan-outs run concurrently on threads (the steps do blocking I/O), like Map iterations do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llmtrade.app import handle
from llmtrade.services import Services
from llmtrade.workflow import FanOut, Task, Workflow


async def _run(workflow: Workflow, execution_input: dict[str, Any], services: Services) -> dict[str, Any]:
    def call(task: Task, **payload: Any) -> dict[str, Any]:
        return handle(task.function, {"action": task.name, **payload}, services)

    state: dict[str, Any] = {**execution_input, "run": call(workflow.opening, input=execution_input), "results": {}}
    for step in workflow.steps:
        if isinstance(step, FanOut):
            items = state["run"][step.over]
            limit = asyncio.Semaphore(step.max_concurrency or max(len(items), 1))

            async def one(item: str, step: FanOut = step, limit: asyncio.Semaphore = limit) -> dict[str, Any]:
                async with limit:
                    return await asyncio.to_thread(call, step.task, run=state["run"], item=item)

            state["results"][step.name] = list(await asyncio.gather(*(one(item) for item in items)))
        else:
            state["results"][step.name] = await asyncio.to_thread(call, step, run=state["run"])
    return state


def run_workflow(workflow: Workflow, execution_input: dict[str, Any], services: Services) -> dict[str, Any]:
    """The final state: the execution input, `run` (the keys) and `results` per step."""
    return asyncio.run(_run(workflow, execution_input, services))
