"""The one declaration of the weekly and checkpoint runs.

Both the CDK state machines (infra/workflows.py) and the in-process runner (llmtrade.runner) are
built from these objects, so the cloud and the local run cannot drift apart.

State layout, shared by both builders (Step Functions state carries keys, never documents):
- the execution input is a small dict (`{"week_id": …}`, `{"scheduled_time": …}`, `{"at": …}`);
- the opening task gets `{"action": <name>, "input": <execution input>}` and its result becomes
  `$.run`: the run's keys (week_id, asof, the lists the fan-outs go over);
- every later task gets `{"action": <name>, "run": $.run}`, plus `"item": <one list element>` inside
  a fan-out; its small result (event ids, counts) lands in `$.results.<name>`.
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


Step = Task | FanOut


@dataclass(frozen=True)
class Workflow:
    name: str
    opening: Task
    steps: tuple[Step, ...]
    timeout_seconds: int

    def tasks(self) -> list[Task]:
        return [self.opening, *(s.task if isinstance(s, FanOut) else s for s in self.steps)]


WEEKLY = Workflow(
    name="weekly",
    opening=Task("open_week", "research", timeout_seconds=60),
    steps=(
        # Settling the previous week and its postmortem (SPEC §3.1) join here as their own steps.
        Task("research", "research", timeout_seconds=900),
        FanOut("pitches", over="pm_accounts", task=Task("pitch", "council", timeout_seconds=600)),
        FanOut("reviews", over="pm_accounts", task=Task("review", "council", timeout_seconds=600)),
        Task("chairman", "council", timeout_seconds=600),
        FanOut("orders", over="accounts", task=Task("execute", "execute", timeout_seconds=300)),
        Task("week_summary", "execute", timeout_seconds=120),
    ),
    timeout_seconds=2 * 3600,
)

CHECKPOINT = Workflow(
    name="checkpoint",
    # Records a skip and returns no accounts when the market is closed, so the fan-out is empty.
    opening=Task("open_checkpoint", "checkpoint", timeout_seconds=60),
    steps=(
        FanOut("checkpoints", over="accounts", task=Task("checkpoint_account", "checkpoint", timeout_seconds=240)),
    ),
    timeout_seconds=8 * 60,  # the 15:50 checkpoint must finish well before the 16:00 close
)

WORKFLOWS: dict[str, Workflow] = {w.name: w for w in (WEEKLY, CHECKPOINT)}
