"""The one declaration of the weekly and checkpoint runs.

Both the CDK state machines (infra/workflows.py) and the in-process runner (entrypoints/runner.py)
are built from these objects, so the cloud and the local run cannot drift apart.

State layout, shared by both builders (Step Functions state carries keys, never documents):
- the execution input is a small dict (`{"week_id": …}`, `{"scheduled_time": …}`, `{"at": …}`);
- the opening task gets
  `{"action": <name>, "input": <execution input>, "execution": <execution name>}`;
  its result becomes `$.run`: the run's keys (week_id, asof, the lists the fan-outs go over);
- `$.run.proceed` false (a duplicate delivery of the schedule, the kill switch) ends the execution
  successfully right after the opening: a Choice to a Succeed state (`proceed` → `stopped`);
- every later task gets `{"action": <name>, "run": $.run, "execution": <execution name>}`, plus
  `"item": <one list element>` inside a fan-out; its small result (event ids, counts) lands in
  `$.results.<name>`;
- a poll runs its start task, then its check task until `$.results.<check>.<done_key>` is true,
  waiting `$.run.<wait_seconds_key>` seconds between two checks.

It is also the registry: each task names its implementation (`module:function`, imported by
llmtrade.entrypoints.dispatch only when a function runs it) and whether the kill switch guards it;
each workflow names the run keys its steps take; each function's needs, secret and memory are
declared once (`FUNCTION_SPECS`) and read by the wiring, the function environment's check and infra.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmtrade.run_keys import CheckpointRun, Keys, WeekRun

Function = Literal["research", "council", "execute", "checkpoint"]
# What a live function builds (llmtrade.wiring): the council's models, research providers, Alpaca.
Need = Literal["llm", "research", "broker"]
SecretVariable = Literal["LLM_SECRET_ARN", "BROKER_SECRET_ARN"]


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function's settings, read by the wiring, the environment check and infra."""

    needs: frozenset[Need]  # the adapters its live services build, and so the keys it reads
    secret_variable: SecretVariable  # the one secret it may read (least privilege)
    memory_mb: int
    # given REPORT_BUCKET and ALERTS_TOPIC_ARN: it publishes the week's pages and summary
    publishes_reports: bool = False


# Memory is also CPU. The functions mostly wait on HTTP; research and council hold long prompts and
# answers and parse them with pydantic; execute and checkpoint place a few orders (bench_cost.py).
FUNCTION_SPECS: dict[Function, FunctionSpec] = {
    "research": FunctionSpec(frozenset({"research"}), "LLM_SECRET_ARN", memory_mb=512),
    "council": FunctionSpec(frozenset({"llm"}), "LLM_SECRET_ARN", memory_mb=512),
    "execute": FunctionSpec(frozenset({"broker"}), "BROKER_SECRET_ARN", memory_mb=256,
                            publishes_reports=True),
    "checkpoint": FunctionSpec(frozenset({"broker"}), "BROKER_SECRET_ARN", memory_mb=256),
}
FUNCTIONS: tuple[Function, ...] = tuple(FUNCTION_SPECS)

# Seals in AWS: objects `seals/<week_id>.json` of a bucket under S3 Object Lock in compliance mode,
# so nobody, the account's root included, can rewrite or delete one for this many days.
SEAL_PREFIX = "seals/"
SEAL_RETENTION_DAYS = 5 * 365


@dataclass(frozen=True)
class Task:
    name: str  # the state's name and the action its function dispatches on
    function: Function
    timeout_seconds: int
    # "module:function". An opening is called with (services, execution input, execution name), a
    # later task with (services, run keys), inside a fan-out with (services, run keys, item).
    implementation: str
    # dispatch checks the kill switch before it runs (an opening does it itself and claims its run)
    guarded: bool = False


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
    run_keys: type[Keys]  # what the opening returns and every later task takes
    proceed_key: str = "proceed"  # the opening result's boolean: false ends the run, successfully
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

    def poll_checked_by(self, task: Task) -> Poll | None:
        """The poll whose loop this task's result ends, if it is a poll's check."""
        return next((s for s in self.steps if isinstance(s, Poll) and s.check == task), None)


WEEKLY = Workflow(
    name="weekly",
    # A function's Lambda timeout sits just under the shortest task it serves (infra/functions.py),
    # so every task of one function gets that function's longest need: research_start may wait on a
    # synchronous provider.
    opening=Task("open_week", "research", 600, "llmtrade.steps.week:open_week"),
    steps=(
        # P/L and postmortems (SPEC §3.1, §5)
        Task("settle_previous_week", "execute", 300,
             "llmtrade.steps.postmortem:settle_previous_week"),
        # Every provider starts at once; deep research is then checked every poll_seconds till done.
        Poll("research",
             start=Task("research_start", "research", 600, "llmtrade.steps.research:research_start",
                        guarded=True),
             check=Task("research_check", "research", 600, "llmtrade.steps.research:research_check",
                        guarded=True),
             wait_seconds_key="research_poll_seconds"),
        FanOut("pitches", over="pm_accounts",
               task=Task("pitch", "council", 900, "llmtrade.steps.council:pitch", guarded=True)),
        FanOut("reviews", over="pm_accounts",
               task=Task("review", "council", 900, "llmtrade.steps.council:review", guarded=True)),
        Task("chairman", "council", 900, "llmtrade.steps.council:chairman", guarded=True),
        # the week's decisions, config and code fixed before its first order; the function that
        # places the orders seals (and, in AWS, archives the seal under Object Lock)
        Task("seal", "execute", 300, "llmtrade.steps.seal:seal", guarded=True),
        FanOut("orders", over="accounts",
               task=Task("execute", "execute", 300, "llmtrade.steps.execute:execute",
                         guarded=True)),
        Task("week_summary", "execute", 300, "llmtrade.steps.summary:week_summary", guarded=True),
    ),
    # research (deadline <= 60 min, + a poll) + 3 council steps (<= 15 min each) + execution + room
    timeout_seconds=3 * 3600,
    run_keys=WeekRun,
)

CHECKPOINT = Workflow(
    name="checkpoint",
    # Records a skip and returns no accounts when the market is closed, so the fan-out is empty.
    opening=Task("open_checkpoint", "checkpoint", 240,
                 "llmtrade.steps.checkpoint_open:open_checkpoint"),
    steps=(
        FanOut("checkpoints", over="accounts",
               task=Task("checkpoint_account", "checkpoint", 240,
                         "llmtrade.steps.checkpoint:checkpoint_account", guarded=True)),
    ),
    timeout_seconds=8 * 60,  # the 15:50 checkpoint must finish well before the 16:00 close
    run_keys=CheckpointRun,
)

WORKFLOWS: dict[str, Workflow] = {w.name: w for w in (WEEKLY, CHECKPOINT)}
# action (a task's name, unique over all workflows) -> the workflow that declares it, and the task
TASKS: dict[str, tuple[Workflow, Task]] = {t.name: (w, t) for w in WORKFLOWS.values()
                                           for t in w.tasks()}
