"""Runs a workflow declaration in-process, with the same state layout as the state machine.

Fan-outs run concurrently on threads (the steps do blocking I/O), like Map iterations do; a poll
checks right after its start, then waits `run[<wait_seconds_key>]` seconds between checks, like the
state machine's Choice → Wait → check loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llmtrade.entrypoints.dispatch import handle
from llmtrade.services import Services
from llmtrade.workflow import FanOut, Poll, Task, Workflow

Sleep = Callable[[float], Awaitable[object]]


async def _run(workflow: Workflow, execution_input: dict[str, Any], services: Services,
               sleep: Sleep, execution: str) -> dict[str, Any]:
    def call(task: Task, **payload: Any) -> dict[str, Any]:
        return handle(task.function, {"action": task.name, "execution": execution, **payload},
                      services)

    state: dict[str, Any] = {**execution_input,
                             "run": call(workflow.opening, input=execution_input),
                             "results": {}}
    if state["run"][workflow.proceed_key] is False:  # the state machine's Choice → Succeed
        return state
    # asyncio's default executor has min(32, cores + 4) threads: 6 on two cores would run 12 PMs in
    # two waves, where the state machine's Map runs them all at once
    widest = max((len(state["run"][s.over]) for s in workflow.steps if isinstance(s, FanOut)),
                 default=1)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=max(widest, 4)))
    results = state["results"]
    for step in workflow.steps:
        if isinstance(step, FanOut):
            items = state["run"][step.over]
            limit = asyncio.Semaphore(step.max_concurrency or max(len(items), 1))

            async def one(item: str, step: FanOut = step,
                          limit: asyncio.Semaphore = limit) -> dict[str, Any]:
                async with limit:
                    return await asyncio.to_thread(call, step.task, run=state["run"], item=item)

            results[step.name] = list(await asyncio.gather(*(one(item) for item in items)))
        elif isinstance(step, Poll):
            results[step.start.name] = await asyncio.to_thread(call, step.start, run=state["run"])
            results[step.check.name] = await asyncio.to_thread(call, step.check, run=state["run"])
            while results[step.check.name][step.done_key] is not True:
                await sleep(state["run"][step.wait_seconds_key])
                results[step.check.name] = await asyncio.to_thread(call, step.check,
                                                                   run=state["run"])
        else:
            results[step.name] = await asyncio.to_thread(call, step, run=state["run"])
    return state


def run_workflow(workflow: Workflow, execution_input: dict[str, Any], services: Services,
                 sleep: Sleep = asyncio.sleep, execution: str | None = None) -> dict[str, Any]:
    """The final state: the execution input, `run` (the keys) and `results` per step (none when the
    opening said not to proceed). `sleep` waits between two checks of a poll (tests pass one that
    returns at once); `execution` names the run like a Step Functions execution name (default: a
    new one)."""
    name = execution or f"local-{uuid.uuid4().hex}"
    return asyncio.run(_run(workflow, execution_input, services, sleep, name))
