"""EventBridge Scheduler schedules from config/schedule.yaml (SPEC §3, §4).

Cron is evaluated in the configured time zone, so 08:00 stays 08:00 New York time across DST. An
early-close day also gets a one-time `at(...)` schedule at close - 10 min (domain.calendar), one per
early close the calendar data holds from the synthesis day on: a deploy after the yearly calendar
update adds the new ones (a passed one-time schedule never fires again).
Delivery is at least once: the opening step claims the scheduled time with a conditional put, so
a duplicate start ends at once, and every step is idempotent (deterministic event ids and
client_order_ids). A start that still fails after the retries lands in the stack's encrypted
dead-letter queue, which is alarmed (infra/operations.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from llmtrade.config import WEEKDAYS, ScheduleConfig
from llmtrade.domain.calendar import ET, early_closes, pre_close_checkpoint

# The execution input: when the run was due, not when it happened to start.
RUN_INPUT = scheduler.ScheduleTargetInput.from_object(
    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
)
# How long Scheduler keeps retrying a failed StartExecution (throttling, a quota) before the
# dead-letter queue. The weekly run's research and orders are meant for the morning: after an hour a
# person decides (rerun it by hand). A checkpoint started much later than due would act on stale
# prices: drop it.
WEEKLY_MAX_AGE, WEEKLY_RETRIES = Duration.hours(1), 20
CHECKPOINT_MAX_AGE, CHECKPOINT_RETRIES = Duration.minutes(5), 5


def week_days(days: Sequence[str]) -> str:
    """Cron's day-of-week field: `MON-FRI` for a run of consecutive days, else `MON,WED`."""
    ordered = sorted(set(days), key=WEEKDAYS.index)
    first = WEEKDAYS.index(ordered[0])
    if len(ordered) > 2 and ordered == list(WEEKDAYS[first:first + len(ordered)]):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(ordered)


def cron(time_zone: TimeZone, clock: time, days: str) -> scheduler.ScheduleExpression:
    return scheduler.ScheduleExpression.cron(minute=str(clock.minute), hour=str(clock.hour),
                                             week_day=days, time_zone=time_zone)


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, schedule: ScheduleConfig,
                 weekly: sfn.IStateMachine, checkpoint: sfn.IStateMachine,
                 dead_letters: sqs.IQueue, today: date | None = None) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letters
        self._checkpoint_role = self._role("CheckpointRole")
        time_zone = TimeZone.of(schedule.timezone)
        run = schedule.weekly_run
        scheduler.Schedule(
            self,
            "Weekly",
            description=f"Weekly council run, {run.day} {run.time} {schedule.timezone}",
            schedule=cron(time_zone, schedule.weekly_run_clock, week_days([run.day])),
            target=targets.StepFunctionsStartExecution(weekly, input=RUN_INPUT,
                                                       role=self._role("WeeklyRole"),
                                                       dead_letter_queue=self.dead_letters,
                                                       max_event_age=WEEKLY_MAX_AGE,
                                                       retry_attempts=WEEKLY_RETRIES),
        )
        days = week_days(schedule.checkpoints.days)
        for clock in schedule.checkpoint_clocks:
            scheduler.Schedule(
                self,
                f"Checkpoint{clock:%H%M}",
                description=f"Checkpoint, {days} {clock:%H:%M} {schedule.timezone}",
                schedule=cron(time_zone, clock, days),
                target=self._start(checkpoint),
            )
        for day in early_closes(today or datetime.now(ET).date()):
            if (moment := pre_close_checkpoint(schedule, day)) is not None:
                scheduler.Schedule(
                    self,
                    f"PreClose{moment:%Y%m%d%H%M}",
                    description=f"Checkpoint before the early close, {moment:%Y-%m-%d %H:%M} "
                                f"{schedule.timezone}",
                    # the ET wall-clock time as a literal: CDK's `at(date)` would write it in UTC
                    schedule=scheduler.ScheduleExpression.expression(
                        f"at({moment:%Y-%m-%dT%H:%M:%S})", time_zone),
                    target=self._start(checkpoint),
                )

    def _role(self, construct_id: str) -> iam.Role:
        """The role a target would get by default (Scheduler's default group in this account),
        which may also use the dead-letter queue's key: sending to an encrypted queue takes
        kms:GenerateDataKey and kms:Decrypt. The target grants StartExecution and SendMessage."""
        stack = Stack.of(self)
        group = stack.format_arn(service="scheduler", resource="schedule-group",
                                 resource_name="default")
        role = iam.Role(self, construct_id, assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account,
                                         "aws:SourceArn": group}}))
        if (key := self.dead_letters.encryption_master_key) is not None:
            key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        return role

    def _start(self, checkpoint: sfn.IStateMachine) -> targets.StepFunctionsStartExecution:
        return targets.StepFunctionsStartExecution(checkpoint, input=RUN_INPUT,
                                                   role=self._checkpoint_role,
                                                   dead_letter_queue=self.dead_letters,
                                                   max_event_age=CHECKPOINT_MAX_AGE,
                                                   retry_attempts=CHECKPOINT_RETRIES)
