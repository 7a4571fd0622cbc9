"""The one declaration of the weekly and checkpoint runs.

Both the CDK state machines (infra/workflows.py) and the in-process runner (llmtrade.runner) are
built from these objects, so the cloud and the local run cannot drift apart.

State layout, shared by both builders (Step Functions state carries keys, never documents):
- the execution input is a small dict (`{"week_id": …}`, `{"scheduled_time": …}`, `{"at": …}`);
- the opening task gets `{"action": <name>, "input": <execution input>, "execution": <execution name>}`
  and its result becomes `$.run`: the run's keys (week_id, asof, the lists the fan-outs go over);
- `$.run.proceed` false (a duplicate delivery of the schedule, the kill switch) ends the execution
  successfully right after the opening: a Choice to a Succeed state (`proceed` → `stopped`);
- every later task gets `{"action": <name>, "run": $.run, "execution": <execution name>}`, plus
  `"item": <one list element>` inside a fan-out; its small result (event ids, counts) lands in
  `$.results.<name>`;
- a poll runs its start task, then its check task until `$.results.<check>.<done_key>` is true,
  waiting `$.run.<wait_seconds_key>` seconds between two checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Function = Literal["research", "council", "execute", "checkpoint"]
FUNCTIONS: tuple[Function, ...] = ("research", "council", "execute", "checkpoint")


@dataclass(frozen=True)
class Task:
    name: str  # the state's name and the action its function dispatches on
    function: Function
    timeout_seconds: int


@dataclass(frozen=True)
class FanOut:
    """Run `task` once per element of the run key `over`, concurrently."""

    name: str
    over: str
    task: Task
    max_concurrency: int = 0  # 0: no limit


@dataclass(frozen=True)
class Poll:
    """Run `start` once, then `check` until its result says done, waiting between two checks.

    For jobs that outlive a Lambda (deep research runs up to an hour): the state machine waits
    (Wait → check → Choice), never a function. The wait comes from the run keys, so it is config.
    A poll is always followed by another step (the Choice's done branch goes there).
    """

    name: str  # names the loop's Wait (`<name>_wait`) and Choice (`<name>_done`) states
    start: Task
    check: Task
    wait_seconds_key: str  # a run key holding the seconds to wait between two checks
    done_key: str = "done"  # the check result's boolean that ends the loop

    @property
    def wait_name(self) -> str:
        return f"{self.name}_wait"

    @property
    def choice_name(self) -> str:
        return f"{self.name}_done"


Step = Task | FanOut | Poll


@dataclass(frozen=True)
class Workflow:
    name: str
    opening: Task
    steps: tuple[Step, ...]
    timeout_seconds: int
    proceed_key: str = "proceed"  # the opening result's boolean: false ends the run at once, successfully
    proceed_choice: str = "proceed"  # the Choice state after the opening
    stopped: str = "stopped"  # the Succeed state a run that does not proceed ends in

    def tasks(self) -> list[Task]:
        found = [self.opening]
        for step in self.steps:
            if isinstance(step, FanOut):
                found.append(step.task)
            elif isinstance(step, Poll):
                found += [step.start, step.check]
            else:
                found.append(step)
        return found


WEEKLY = Workflow(
    name="weekly",
    # A function's Lambda timeout sits just under the shortest task it serves (infra/functions.py), so every
    # task of one function gets that function's longest need: research_start may wait on a synchronous provider.
    opening=Task("open_week", "research", timeout_seconds=600),
    steps=(
        Task("settle_previous_week", "execute", timeout_seconds=300),  # P/L and postmortems (SPEC §3.1, §5)
        # Every provider starts at once; deep research is then checked every poll_seconds until done.
        Poll("research", start=Task("research_start", "research", timeout_seconds=600),
             check=Task("research_check", "research", timeout_seconds=600),
             wait_seconds_key="research_poll_seconds"),
        FanOut("pitches", over="pm_accounts", task=Task("pitch", "council", timeout_seconds=900)),
        FanOut("reviews", over="pm_accounts", task=Task("review", "council", timeout_seconds=900)),
        Task("chairman", "council", timeout_seconds=900),
        FanOut("orders", over="accounts", task=Task("execute", "execute", timeout_seconds=300)),
        Task("week_summary", "execute", timeout_seconds=300),
    ),
    # research (deadline <= 60 min, + a poll) + three council steps (<= 15 min each) + execution, with room
    timeout_seconds=3 * 3600,
)

CHECKPOINT = Workflow(
    name="checkpoint",
    # Records a skip and returns no accounts when the market is closed, so the fan-out is empty.
    opening=Task("open_checkpoint", "checkpoint", timeout_seconds=240),
    steps=(
        FanOut("checkpoints", over="accounts", task=Task("checkpoint_account", "checkpoint", timeout_seconds=240)),
    ),
    timeout_seconds=8 * 60,  # the 15:50 checkpoint must finish well before the 16:00 close
)

WORKFLOWS: dict[str, Workflow] = {w.name: w for w in (WEEKLY, CHECKPOINT)}
