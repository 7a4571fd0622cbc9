"""Running it unattended: the kill switch, the report bucket, alerts (SNS), alarms and the
optional dashboard.

Alerts reach a person by email when the context names one
(`cdk deploy -c alerts_email=me@example.com`):
- any execution of our state machines that ends FAILED, TIMED_OUT or ABORTED (an EventBridge rule;
  the state machines have no Catch, so every infrastructure error ends up here, and redrive reruns
  it);
- a message in the dead-letter queue (a schedule could not start its execution, an alert was not
  delivered);
- no `Metric.WEEKLY_RUN_COMPLETED` for a week (the weekly run did not happen or did not finish).

Two alarms at $0.10 a month each, no more: a Lambda error alarm would repeat the execution rule (the
functions are invoked by Step Functions only, so an error the task's retries do not absorb fails
the execution), and one dead-letter queue for every sender makes one alarm where two would say the
same (a message's attributes name the schedule, rule or subscription it failed from). The dashboard
($3 a month) is opt-in: `cdk deploy -c dashboard=true`.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from llmtrade.environment import Metric

from infra import acknowledge

NAMESPACE = "llmtrade"  # POWERTOOLS_METRICS_NAMESPACE
# Powertools Metrics adds the service as a dimension of every metric it emits.
SERVICE_DIMENSION = {"service": "llmtrade"}  # POWERTOOLS_SERVICE_NAME
KILL_SWITCH_VALUES = ("enabled", "disabled")
ALERT_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
REPORT_RETENTION = Duration.days(400)  # a year of weekly reports and the same week a year earlier
REPLACED_REPORT_RETENTION = Duration.days(30)
# CloudWatch caps an alarm's window (period x evaluation periods) at 7 days (PutMetricAlarm), so
# "no completed weekly run in 8 days" becomes: no completed run in any of the last 7 daily periods.
MISSED_RUN_PERIOD, MISSED_RUN_PERIODS = Duration.days(1), 7


DAY = Duration.days(1)


def llmtrade_metric(name: Metric, *, statistic: str = "Sum", period: Duration = DAY,
                    label: str | None = None) -> cloudwatch.Metric:
    """A custom metric the runtime emits with Powertools (namespace llmtrade, dimension service)."""
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=name,
                             dimensions_map=SERVICE_DIMENSION, statistic=statistic, period=period,
                             label=label)


def dead_letter_queue(scope: Construct, construct_id: str, key: kms.IKey) -> sqs.Queue:
    """Encrypted with `key`, TLS-only, kept 14 days (the most SQS keeps): long enough to notice and
    look. A KMS key, since the IaC scan does not count SQS-managed encryption (CKV_AWS_27); the
    alerts key, since EventBridge and SNS cannot use the AWS managed aws/sqs key and a key of the
    queue's own would cost $1 a month."""
    queue = sqs.Queue(scope, construct_id, encryption=sqs.QueueEncryption.KMS,
                      encryption_master_key=key, enforce_ssl=True,
                      retention_period=Duration.days(14))
    reason = ("This queue is itself a dead-letter queue (alarmed on visible messages); it needs "
              "none of its own.")
    acknowledge(queue, "AwsSolutions-SQS3", reason)
    acknowledge(queue, "Serverless-SQSRedrivePolicy", reason)
    return queue


class Operations(Construct):
    """Build it before the functions (they read the kill switch and write reports), then `watch`
    them."""

    def __init__(self, scope: Construct, construct_id: str, *, alerts_email: str | None,
                 dashboard: bool = False) -> None:
        super().__init__(scope, construct_id)
        stack_name = Stack.of(self).stack_name

        # "disabled" stops the next open_week / open_checkpoint, and a run already going at its next
        # guarded task (llmtrade.workflow), before any model call or order
        # (aws ssm put-parameter --name /llmtrade/kill-switch --value disabled --overwrite).
        self.kill_switch = ssm.StringParameter(
            self,
            "KillSwitch",
            parameter_name=f"/{stack_name}/kill-switch",
            string_value="enabled",
            allowed_pattern=f"^({'|'.join(KILL_SWITCH_VALUES)})$",
            description="llmtrade runs when 'enabled'; 'disabled' stops new weekly runs and "
                        "checkpoints",
        )

        self.report_bucket = s3.Bucket(
            self,
            "Reports",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # A rerun's report replaces the week's object; the one it replaced stays a while.
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(
                expiration=REPORT_RETENTION,
                noncurrent_version_expiration=REPLACED_REPORT_RETENTION,
                abort_incomplete_multipart_upload_after=Duration.days(1))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(self.report_bucket, "AwsSolutions-S1",
                    "Private bucket written by one function's role only; CloudTrail records its "
                    "API calls. A second bucket for access logs would cost more than the reports "
                    "it watches.")

        # SNS encryption with a key EventBridge and CloudWatch may use: the AWS managed aws/sns key
        # does not let either publish to the topic. $1 a month. It encrypts the dead-letter queue
        # too, which EventBridge and (with an email subscription) SNS write to.
        self.alerts_key = kms.Key(self, "AlertsKey", enable_key_rotation=True,
                                  removal_policy=RemovalPolicy.DESTROY,
                                  description="llmtrade: encrypts the alerts topic and the "
                                              "dead-letter queue")
        senders = ["events.amazonaws.com", "cloudwatch.amazonaws.com",
                   *(["sns.amazonaws.com"] if alerts_email else [])]
        for service in senders:
            self.alerts_key.grant(iam.ServicePrincipal(service), "kms:Decrypt",
                                  "kms:GenerateDataKey*")
        self.alerts = sns.Topic(self, "Alerts", display_name="llmtrade alerts",
                                master_key=self.alerts_key, enforce_ssl=True)
        # What could not be delivered lands here: a schedule's start of an execution, an alert to
        # the topic, or one from it to the email address.
        self.dead_letters = dead_letter_queue(self, "DeadLetters", self.alerts_key)
        if alerts_email:
            self.alerts.add_subscription(subscriptions.EmailSubscription(
                alerts_email, dead_letter_queue=self.dead_letters))
        self._alarm_action = cloudwatch_actions.SnsAction(self.alerts)
        self._dashboard = dashboard

    def watch(self, *, state_machines: Mapping[str, sfn.IStateMachine],
              functions: Mapping[str, lambda_.IFunction]) -> None:
        """The execution-status rule, the alarms and the dashboard (if asked for) over what the
        stack runs."""
        self.execution_alerts = events.Rule(
            self,
            "ExecutionAlerts",
            description="llmtrade: an execution failed, timed out or was aborted",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": list(ALERT_STATUSES),
                        "stateMachineArn": [m.state_machine_arn
                                            for m in state_machines.values()]},
            ),
            targets=[events_targets.SnsTopic(
                self.alerts,
                message=events.RuleTargetInput.from_text(
                    f"llmtrade: execution {events.EventField.from_path('$.detail.name')} ended "
                    f"{events.EventField.from_path('$.detail.status')} "
                    f"({events.EventField.from_path('$.detail.executionArn')}). "
                    "Redrive it from the Step Functions console to rerun only the failed states."),
                dead_letter_queue=self.dead_letters,
                retry_attempts=20,
                max_event_age=Duration.hours(6),
            )],
        )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm("DeadLettersVisible",
                    self.dead_letters.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(5), statistic="Maximum"), threshold=0,
                    description="llmtrade: messages in the dead-letter queue: a schedule or an "
                                "alert was not delivered (its attributes say which)")
        self._alarm("MissedWeeklyRun",
                    llmtrade_metric(Metric.WEEKLY_RUN_COMPLETED, period=MISSED_RUN_PERIOD),
                    threshold=1, comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    evaluation_periods=MISSED_RUN_PERIODS,
                    missing=cloudwatch.TreatMissingData.BREACHING,
                    description="llmtrade: no weekly run completed in 7 days (kill switch, "
                                "schedule, failure?)")
        if self._dashboard:
            dashboard = cloudwatch.Dashboard(self, "Dashboard",
                                             dashboard_name=Stack.of(self).stack_name,
                                             default_interval=Duration.days(35))
            dashboard.add_widgets(*self._widgets(state_machines, functions))

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, *, threshold: float, description: str,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD),
        evaluation_periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = cloudwatch.Alarm(self, construct_id, metric=metric, threshold=threshold,
                                 comparison_operator=comparison,
                                 evaluation_periods=evaluation_periods,
                                 treat_missing_data=missing, alarm_description=description)
        alarm.add_alarm_action(self._alarm_action)
        self.alarms[construct_id] = alarm

    @staticmethod
    def _widgets(state_machines: Mapping[str, sfn.IStateMachine],
                 functions: Mapping[str, lambda_.IFunction]) -> list[cloudwatch.IWidget]:
        hour = Duration.hours(1)
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{name} executions", width=12,
                left=[machine.metric_started(period=hour, label="started"),
                      machine.metric_failed(period=hour, label="failed"),
                      machine.metric_timed_out(period=hour, label="timed out"),
                      machine.metric_aborted(period=hour, label="aborted")])
            for name, machine in state_machines.items()
        ]
        widgets += [
            cloudwatch.GraphWidget(title="Lambda duration (p95, ms)", width=12,
                                   left=[f.metric_duration(period=hour, statistic="p95", label=name)
                                         for name, f in functions.items()]),
            cloudwatch.GraphWidget(title="Lambda errors", width=12,
                                   left=[f.metric_errors(period=hour, label=name)
                                         for name, f in functions.items()]),
            cloudwatch.GraphWidget(title="LLM and research cost per week (USD)", width=8,
                                   left=[llmtrade_metric(Metric.LLM_COST_USD,
                                                         period=Duration.days(7), label="cost")]),
            cloudwatch.GraphWidget(
                title="Account equity (USD)", width=8,
                # Every account the runtime reports, without listing them here.
                left=[cloudwatch.MathExpression(
                    expression=f"SEARCH('{{{NAMESPACE},account,service}} "
                               f"MetricName=\"{Metric.ACCOUNT_EQUITY_USD}\"', "
                               "'Maximum', 86400)",
                    label="", period=Duration.days(1))]),
            cloudwatch.GraphWidget(
                title="Orders per day", width=8,
                left=[llmtrade_metric(Metric.ORDERS_PLACED, label="placed"),
                      llmtrade_metric(Metric.ORDERS_REJECTED, label="rejected")]),
        ]
        return widgets
