"""Figures, not tests: what the AWS stack costs a month, from the synthesized template and config/.

Counted from what is deployed: executions per month from config/schedule.yaml; Step Functions state
transitions per execution by walking the synthesized definitions (Map iterations x the accounts of
config/accounts.yaml, research checks as assumed below); Lambda invocations per function from the
tasks and their memory from the template; alarms, dashboards, secrets, KMS keys, queues, the
report and seal buckets from the template. The default configuration (cdk.json) has no dashboard:
`-c dashboard=true` adds $3.00 a month.

Measured: DynamoDB item reads and writes per week, by running offline weeks (the weekly run and the
week's checkpoints) against the cloud store and ledger in moto and metering every request
(bench/measured_week.py; the offline run writes what a live one does, minus the research
providers' polls); `--assume` skips that and uses the old guesses below.
Assumed (change them below): how long each task runs, how many research checks a week needs, the
events' sizes when not measured, log volume per invocation. Prices: us-east-1 list prices,
hard-coded here (checked against the AWS pricing pages in 2025; they change), without the free tier,
without tax and without what the LLM and research providers charge (see
`llmtrade run-week --estimate` for that).
Run: python bench/bench_cost.py
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmtrade.config import load_settings
from llmtrade.workflow import SEAL_RETENTION_DAYS, WORKFLOWS

from infra.app import STACK_NAME, build_app
from infra.workflows import definition

# ---------------------------------------------------------------------- us-east-1 list prices (USD)
STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1000  # standard workflows
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334  # arm64
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1_000_000  # on-demand write request unit (1 KB)
DYNAMODB_PER_READ_UNIT = 0.125 / 1_000_000  # on-demand read request unit (4 KB strongly consistent)
DYNAMODB_PER_GB_MONTH = 0.25
DYNAMODB_PITR_PER_GB_MONTH = 0.20
SECRET_PER_MONTH = 0.40
SECRETS_PER_API_CALL = 0.05 / 10_000
KMS_KEY_PER_MONTH = 1.00
KMS_PER_REQUEST = 0.03 / 10_000
ALARM_PER_MONTH = 0.10  # standard resolution metric alarm
DASHBOARD_PER_MONTH = 3.00
CUSTOM_METRIC_PER_MONTH = 0.30  # prorated by the hour
LOGS_PER_GB_INGESTED = 0.50
LOGS_PER_GB_MONTH_STORED = 0.03
XRAY_PER_TRACE = 5.00 / 1_000_000
SNS_PER_EMAIL = 2.00 / 100_000
SQS_PER_REQUEST = 0.40 / 1_000_000
SCHEDULER_PER_INVOCATION = 1.00 / 1_000_000
S3_PER_PUT = 0.005 / 1000
S3_PER_GB_MONTH = 0.023

# billed by the month whatever runs (the lines' item names)
FIXED = ("Secrets", "KMS", "CloudWatch alarms", "CloudWatch dashboard")
TARGET_USD = 2.60  # issue 15 target 7, the default configuration

# ----------------------------------------------------------------------------------- assumptions
TASK_SECONDS = {  # typical duration of one invocation, live mode
    "open_week": 2, "settle_previous_week": 10, "research_start": 60, "research_check": 3,
    "pitch": 60, "review": 45, "chairman": 60, "seal": 2, "execute": 5, "week_summary": 10,
    "open_checkpoint": 2, "checkpoint_account": 4,
}
RESEARCH_CHECKS = 20  # deep research polled every poll_seconds: ~20 minutes until done
EVENTS_PER_WEEKLY_RUN = 400  # LLM calls, research, orders, audit records (SPEC §7)
EVENTS_PER_CHECKPOINT_ACCOUNT = 3
EVENT_WRITE_UNITS = 4  # ~4 KB per event (prompts and raw answers are kept): --assume only
READ_UNITS_PER_INVOCATION = 60  # a few strongly consistent queries of the week's partition: ditto
MEASURED_WEEKS = 2  # the second week carries the first one's history
LOG_KB_PER_INVOCATION = 8  # Powertools structured logs and EMF metrics
REPORT_KB = 300
LOG_KB_PER_TRANSITION = 1  # Step Functions' own log (level ALL, without execution data)
SEAL_KB = 20  # a week's decisions, config and code digests
WEEKS_PER_MONTH = 52 / 12
HOURS = 730  # in a month
WEEKDAYS_PER_MONTH = 5 * WEEKS_PER_MONTH  # holidays ignored: checkpoints skipped early still run


@dataclass
class Line:
    item: str
    quantity: str
    usd: float


def transitions(states: dict[str, Any], start: str, items: dict[str, int], tasks: Counter[str],
                times: int = 1) -> int:
    """State transitions along the way through a run that proceeds (a poll's Choice takes its done
    branch after RESEARCH_CHECKS checks), counting each task's invocations into `tasks`."""
    count, name = 0, start
    while name:
        state = states[name]
        count += times
        if state["Type"] == "Task":
            tasks[state["Parameters"]["action"]] += times
        if state["Type"] == "Map":
            over = state["ItemsPath"].removeprefix("$.run.")
            inner = state["ItemProcessor"]
            count += transitions(inner["States"], inner["StartAt"], items, tasks,
                                 times * items[over])
        if state["Type"] == "Choice":
            wait = states[state["Default"]]
            if wait["Type"] != "Wait":  # the opening's proceed check: the run goes on by default
                name = state["Default"]
                continue
            # a poll: Wait -> check -> Choice again until done, then the done branch
            extra = times * (RESEARCH_CHECKS - 1)
            count += 3 * extra
            tasks[states[wait["Next"]]["Parameters"]["action"]] += extra
            name = state["Choices"][0]["Next"]
            continue
        name = state.get("Next")
    return count


def measured_units(weeks: int) -> tuple[float, float, int]:
    """(read units, write units, events) of the last of `weeks` offline weeks, measured; prints
    each week's figures."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measured_week import measure

    print(f"DynamoDB per week, measured over {weeks} offline weeks and their checkpoints (moto):")
    results = measure(weeks)
    for week in results:
        requests = ", ".join(f"{op} {n}" for op, n in sorted(week.requests.items()))
        print(f"  week {week.week_id}: {week.events} events, {week.reads:.0f} read units, "
              f"{week.writes:.0f} write units ({week.transactions} chained); {requests}")
    print()
    last = results[-1]
    return last.reads, last.writes, last.events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assume", action="store_true",
                        help="use the assumed event counts and sizes, not a measured week")
    parser.add_argument("--weeks", type=int, default=MEASURED_WEEKS)
    args = parser.parse_args()
    measured = None if args.assume else measured_units(args.weeks)
    settings = load_settings()
    template = (build_app({"aws:cdk:bundling-stacks": []}).synth()
                .get_stack_by_name(STACK_NAME).template)
    resources = template["Resources"]
    by_type = Counter(r["Type"] for r in resources.values())
    accounts = settings.accounts.accounts
    items = {"pm_accounts": sum(a.kind == "pm" for a in accounts), "accounts": len(accounts)}
    schedule = settings.schedule
    runs = {"weekly": WEEKS_PER_MONTH,
            "checkpoint": len(schedule.checkpoints.times) * len(schedule.checkpoints.days)
            * WEEKS_PER_MONTH}

    lines: list[Line] = []
    tasks: Counter[str] = Counter()
    state_transitions = 0.0
    for name, per_month in runs.items():
        asl = definition(template, name)
        per_run: Counter[str] = Counter()
        count = transitions(asl["States"], asl["StartAt"], items, per_run)
        for task, n in per_run.items():
            tasks[task] += n * per_month
        lines.append(Line(f"Step Functions {name}", f"{per_month:.0f} runs x {count} transitions",
                          per_month * count * STEP_FUNCTIONS_PER_TRANSITION))
        state_transitions += per_month * count
    executions = sum(runs.values())

    memory = {}  # function -> GB, from the template
    for r in resources.values():
        if r["Type"] == "AWS::Lambda::Function":
            tag = {t["Key"]: t["Value"] for t in r["Properties"]["Tags"]}.get("llmtrade:function")
            memory[tag] = r["Properties"]["MemorySize"] / 1024
    function_of = {t.name: t.function for w in WORKFLOWS.values() for t in w.tasks()}
    invocations = sum(tasks.values())
    gb_seconds = sum(n * TASK_SECONDS[task] * memory[function_of[task]]
                     for task, n in tasks.items())
    lines.append(Line("Lambda requests", f"{invocations:.0f} invocations",
                      invocations * LAMBDA_PER_REQUEST))
    lines.append(Line("Lambda compute (arm64)", f"{gb_seconds:.0f} GB-s",
                      gb_seconds * LAMBDA_ARM_PER_GB_SECOND))

    events = (EVENTS_PER_WEEKLY_RUN * runs["weekly"]
              + EVENTS_PER_CHECKPOINT_ACCOUNT * tasks["checkpoint_account"])
    # Each invocation also writes and completes an idempotency record (2 small writes) when the
    # runtime uses it.
    writes = events * EVENT_WRITE_UNITS + 2 * invocations
    reads = READ_UNITS_PER_INVOCATION * invocations
    stored_gb = events * 12 * EVENT_WRITE_UNITS / 1024 / 1024  # a year of events
    if measured is not None:  # the measured week's units and events, a month of them
        week_reads, week_writes, week_events = measured
        events = week_events * WEEKS_PER_MONTH
        writes = week_writes * WEEKS_PER_MONTH + 2 * invocations
        reads = week_reads * WEEKS_PER_MONTH
        # stored: about a write unit (1 KB) per item, table and index, a year of them
        stored_gb = week_writes * WEEKS_PER_MONTH * 12 / 1024 / 1024
    lines.append(Line("DynamoDB writes (on-demand)", f"{writes:.0f} WRU",
                      writes * DYNAMODB_PER_WRITE_UNIT))
    lines.append(Line("DynamoDB reads (on-demand)", f"{reads:.0f} RRU",
                      reads * DYNAMODB_PER_READ_UNIT))
    lines.append(Line("DynamoDB storage + PITR", f"{stored_gb:.3f} GB after a year",
                      stored_gb * (DYNAMODB_PER_GB_MONTH + DYNAMODB_PITR_PER_GB_MONTH)))

    secrets = by_type["AWS::SecretsManager::Secret"]
    lines.append(Line("Secrets Manager", f"{secrets} secrets, <= {invocations:.0f} reads",
                      secrets * SECRET_PER_MONTH + invocations * SECRETS_PER_API_CALL))
    keys = by_type["AWS::KMS::Key"]
    lines.append(Line("KMS (alerts topic, dead letters)", f"{keys} key",
                      keys * KMS_KEY_PER_MONTH + 100 * KMS_PER_REQUEST))

    alarms, dashboards = by_type["AWS::CloudWatch::Alarm"], by_type["AWS::CloudWatch::Dashboard"]
    # Custom metrics are billed by the hour, only for hours in which they receive data.
    weekly_only = 2  # WeeklyRunCompleted, LLMCostUSD
    # CheckpointRan/Skipped, OrdersPlaced/Rejected, AccountEquityUSD per account
    at_checkpoints = 4 + len(accounts)
    metrics = weekly_only + at_checkpoints
    metric_months = (weekly_only * runs["weekly"]
                     + at_checkpoints * (runs["checkpoint"] + runs["weekly"])) / HOURS
    log_gb = invocations * LOG_KB_PER_INVOCATION / 1024 / 1024
    lines.append(Line("CloudWatch alarms", f"{alarms} alarms", alarms * ALARM_PER_MONTH))
    lines.append(Line("CloudWatch dashboard", f"{dashboards} dashboard",
                      dashboards * DASHBOARD_PER_MONTH))
    lines.append(Line("CloudWatch custom metrics",
                      f"{metrics} metrics, {metric_months:.2f} metric-months",
                      metric_months * CUSTOM_METRIC_PER_MONTH))
    lines.append(Line("CloudWatch Logs", f"{log_gb * 1024:.1f} MB ingested, 3 months kept",
                      log_gb * (LOGS_PER_GB_INGESTED + 3 * LOGS_PER_GB_MONTH_STORED)))
    state_logs_gb = state_transitions * LOG_KB_PER_TRANSITION / 1024 / 1024
    lines.append(Line("Step Functions logs", f"{state_logs_gb * 1024:.1f} MB, 3 months kept",
                      state_logs_gb * (LOGS_PER_GB_INGESTED + 3 * LOGS_PER_GB_MONTH_STORED)))
    traces = executions + invocations
    lines.append(Line("X-Ray", f"{traces:.0f} traces", traces * XRAY_PER_TRACE))

    schedules = by_type["AWS::Scheduler::Schedule"]
    lines.append(Line("EventBridge Scheduler", f"{schedules} schedules, {executions:.0f} starts",
                      executions * SCHEDULER_PER_INVOCATION))
    lines.append(Line("SNS email alerts", "~10 alerts", 10 * SNS_PER_EMAIL))
    lines.append(Line("SQS dead-letter queues", f"{by_type['AWS::SQS::Queue']} queues, idle",
                      0 * SQS_PER_REQUEST))
    report_gb = runs["weekly"] * 12 * REPORT_KB / 1024 / 1024
    lines.append(Line("S3 reports",
                      f"{runs['weekly']:.1f} puts, {report_gb * 1024:.0f} MB after a year",
                      runs["weekly"] * S3_PER_PUT + report_gb * S3_PER_GB_MONTH))
    # Object Lock keeps every seal for its retention: years of them, still a few MB
    seal_gb = runs["weekly"] * 12 * SEAL_RETENTION_DAYS / 365 * SEAL_KB / 1024 / 1024
    lines.append(Line("S3 seals (Object Lock)",
                      f"{runs['weekly']:.1f} puts, {seal_gb * 1024:.1f} MB at most",
                      runs["weekly"] * S3_PER_PUT + seal_gb * S3_PER_GB_MONTH))

    width = max(len(line.item) for line in lines)
    print(f"Monthly AWS cost of the {STACK_NAME} stack (us-east-1 list prices, no free tier)\n")
    for line in lines:
        print(f"{line.item:<{width}}  {line.quantity:<40} ${line.usd:8.4f}")
    total = sum(line.usd for line in lines)
    fixed = [line for line in lines if line.item.startswith(FIXED)]
    print(f"{'total':<{width}}  {'':<40} ${total:8.4f}   (target <= ${TARGET_USD:.2f})")
    print(f"\n(of which ${sum(line.usd for line in fixed):.2f} is fixed: "
          + ", ".join(f"{line.item.split(' (')[0]} ${line.usd:.2f}" for line in fixed)
          + f"; the two secrets instead of one cost ${SECRET_PER_MONTH:.2f} more, the price of "
          f"least privilege; `-c dashboard=true` adds ${DASHBOARD_PER_MONTH:.2f})")

if __name__ == "__main__":
    main()
