"""Least privilege, timeouts, dead letters, alerts and the operations resources in the synthesized
template."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from llmtrade.adapters.store import dynamodb as dynamodb_store
from llmtrade.environment import Metric
from llmtrade.workflow import FUNCTIONS, WORKFLOWS

from infra.functions import FUNCTION_TAG
from infra.workflows import WORKFLOW_TAG, definition, intrinsic_text

# boto3 Table method -> the IAM action it needs
TABLE_ACTIONS = {"get_item": "dynamodb:GetItem", "put_item": "dynamodb:PutItem",
                 "query": "dynamodb:Query", "update_item": "dynamodb:UpdateItem",
                 "delete_item": "dynamodb:DeleteItem", "scan": "dynamodb:Scan",
                 "batch_writer": "dynamodb:BatchWriteItem",
                 "batch_get_item": "dynamodb:BatchGetItem",
                 # authorized as its actions: the store's transactions hold Puts only
                 "transact_write_items": "dynamodb:PutItem"}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def resources(template: Mapping[str, Any],
              resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def only(template: Mapping[str, Any], resource_type: str, **properties: Any) -> str:
    """The logical id of the one resource of that type with these top-level property values."""
    (found,) = [k for k, r in resources(template, resource_type).items()
                if all(r["Properties"].get(p) == v for p, v in properties.items())]
    return found


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_ids(template: Mapping[str, Any]) -> dict[str, str]:
    """Function name (research, ...) -> its logical id."""
    return {tag["Value"]: logical_id
            for logical_id, r in resources(template, "AWS::Lambda::Function").items()
            for tag in r["Properties"].get("Tags", []) if tag["Key"] == FUNCTION_TAG}


def grants(template: Mapping[str, Any], function: str) -> set[tuple[str, str]]:
    """Every (action, resource) the function's role is allowed, from the policies attached to it."""
    props = template["Resources"][function_ids(template)[function]]["Properties"]
    return role_grants(template, props["Role"]["Fn::GetAtt"][0])


def role_grants(template: Mapping[str, Any], role: str) -> set[tuple[str, str]]:
    """Every (action, resource) the role (its logical id) is allowed by the policies attached."""
    pairs = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            resources_ = [intrinsic_text(r) for r in listed(statement["Resource"])]
            pairs |= {(a, r) for a in listed(statement["Action"]) for r in resources_}
    return pairs


@pytest.fixture(scope="module")
def names(template_dict: Mapping[str, Any]) -> dict[str, str]:
    """The data resources as they appear in rendered policy resources."""
    table = only(template_dict, "AWS::DynamoDB::Table", TableName=None,
                 TimeToLiveSpecification=None)
    idempotency = only(template_dict, "AWS::DynamoDB::Table",
                       TimeToLiveSpecification={"AttributeName": "expiration", "Enabled": True})
    bucket = only(template_dict, "AWS::S3::Bucket", ObjectLockEnabled=None)
    seals = only(template_dict, "AWS::S3::Bucket", ObjectLockEnabled=True)
    return {
        "table": f"${{{table}.Arn}}",
        "index": f"${{{table}.Arn}}/index/by_account_kind",
        "idempotency": f"${{{idempotency}.Arn}}",
        "llm_secret": "${" + only(template_dict, "AWS::SecretsManager::Secret",
                                  Name="llmtrade/llm-keys") + "}",
        "broker_secret": "${" + only(template_dict, "AWS::SecretsManager::Secret",
                                     Name="llmtrade/broker-keys") + "}",
        "reports": f"${{{bucket}.Arn}}/*",
        "seals": f"${{{seals}.Arn}}/seals/*",
        "alerts": "${" + only(template_dict, "AWS::SNS::Topic") + "}",
        "alerts_key": "${" + only(template_dict, "AWS::KMS::Key") + ".Arn}",
        # The parameter's Ref is its name, /llmtrade/kill-switch
        # (test_kill_switch_and_report_bucket).
        "kill_switch": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${"
                       + only(template_dict, "AWS::SSM::Parameter", Name="/llmtrade/kill-switch")
                       + "}",
    }


def test_event_table_actions_are_what_the_store_calls(template_dict: Mapping[str, Any],
                                                      names: dict[str, str]) -> None:
    tree = ast.parse(Path(dynamodb_store.__file__).read_text())
    called = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute)
              and ast.unparse(node.func.value) in ("self._client",)
              and node.func.attr != "Table"}
    needed = {TABLE_ACTIONS[method] for method in called}
    assert needed == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                      "dynamodb:BatchGetItem"}
    for function in FUNCTIONS:
        allowed = grants(template_dict, function)
        assert {a for a, r in allowed if r in (names["table"], names["index"])} == needed
        # list_account queries the index, then reads the events it lists from the table
        assert ("dynamodb:Query", names["index"]) in allowed
        assert ("dynamodb:BatchGetItem", names["table"]) in allowed


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_role_is_granted_only_what_its_steps_use(template_dict: Mapping[str, Any],
                                                      names: dict[str, str],
                                                      function: str) -> None:
    allowed = grants(template_dict, function)
    for action, resource in allowed:
        assert "*" not in action
        assert resource != "*" or action in XRAY_ACTIONS  # X-Ray accepts only Resource "*"
    secret = names["llm_secret"] if function in ("research", "council") else names["broker_secret"]
    other = names["broker_secret"] if secret == names["llm_secret"] else names["llm_secret"]
    secrets = {(a, r) for a, r in allowed if a.startswith("secretsmanager:")}
    assert secrets == {("secretsmanager:GetSecretValue", secret),
                       ("secretsmanager:DescribeSecret", secret)}
    assert not any(r == other for _, r in allowed)
    assert {(a, r) for a, r in allowed if r == names["idempotency"]} == {
        (f"dynamodb:{a}", names["idempotency"])
        for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")}
    assert {(a, r) for a, r in allowed if a.startswith("ssm:")} == {
        ("ssm:GetParameter", names["kill_switch"])}
    reports = {(a, r) for a, r in allowed if a.startswith("s3:")}
    assert reports == ({("s3:PutObject", names["reports"]), ("s3:GetObject", names["reports"]),
                        # the seal: put with its retention, under the seals prefix only
                        ("s3:PutObject", names["seals"]), ("s3:PutObjectRetention", names["seals"])}
                       if function == "execute" else set())
    # the week's summary with its link
    notify = {(a, r) for a, r in allowed if a.startswith(("sns:", "kms:"))}
    assert notify == ({("sns:Publish", names["alerts"]),
                       ("kms:GenerateDataKey", names["alerts_key"]),
                       ("kms:Decrypt", names["alerts_key"])} if function == "execute" else set())
    data = {names[k] for k in names} | {names["reports"].removesuffix("/*")}
    assert {a.split(":")[0] for a, r in allowed if r not in data} <= {"logs", "xray"}


def test_checkpoint_cannot_read_the_llm_keys(template_dict: Mapping[str, Any],
                                             names: dict[str, str]) -> None:
    assert not [a for a, r in grants(template_dict, "checkpoint") if r == names["llm_secret"]]


def test_tables_on_demand_encrypted_with_point_in_time_recovery(
        template_dict: Mapping[str, Any]) -> None:
    tables = resources(template_dict, "AWS::DynamoDB::Table").values()
    for table in tables:
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    (idempotency,) = [t["Properties"] for t in tables
                      if "TimeToLiveSpecification" in t["Properties"]]
    assert idempotency["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def task_states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state["Type"] == "Task":
            yield state
        if state["Type"] == "Map":
            yield from task_states(state["ItemProcessor"]["States"])


@pytest.mark.parametrize("workflow", list(WORKFLOWS))
def test_lambda_timeout_under_task_timeout_under_execution_timeout(
        template_dict: Mapping[str, Any], workflow: str) -> None:
    ids = function_ids(template_dict)
    lambda_timeout: dict[str, Any] = {
        name: template_dict["Resources"][ids[name]]["Properties"]["Timeout"] for name in FUNCTIONS}
    asl = definition(template_dict, workflow)
    tasks = list(task_states(asl["States"]))
    assert len(tasks) == len(WORKFLOWS[workflow].tasks())
    for state in tasks:
        resource = re.fullmatch(r"<function:(\w+)>", state["Resource"])
        assert resource is not None, state["Resource"]
        function = resource.group(1)
        assert lambda_timeout[function] < state["TimeoutSeconds"] < asl["TimeoutSeconds"], (
            state["Parameters"])


def test_every_schedule_retries_then_dead_letters_to_an_alarmed_queue(
        template_dict: Mapping[str, Any]) -> None:
    schedules = resources(template_dict, "AWS::Scheduler::Schedule").values()
    queues = {intrinsic_text(s["Properties"]["Target"]["DeadLetterConfig"]["Arn"])
              for s in schedules}
    # the weekly run, four checkpoint crons, one checkpoint before each early close ahead
    crons = [s for s in schedules if s["Properties"]["ScheduleExpression"].startswith("cron(")]
    assert len(crons) == 5 and len(queues) == 1
    (queue_arn,) = queues
    queue_id = queue_arn.removeprefix("${").removesuffix(".Arn}")
    key = template_dict["Resources"][queue_id]["Properties"]["KmsMasterKeyId"]
    assert key == {"Fn::GetAtt": [only(template_dict, "AWS::KMS::Key"), "Arn"]}
    for schedule in schedules:
        # the schedule's role may start its machine and send to the queue, under the queue's key
        allowed = role_grants(template_dict,
                              schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0])
        target = f"${{{schedule['Properties']['Target']['Arn']['Ref']}}}"
        assert allowed == {("states:StartExecution", target), ("sqs:SendMessage", queue_arn),
                           ("kms:GenerateDataKey", intrinsic_text(key)),
                           ("kms:Decrypt", intrinsic_text(key))}
        policy = schedule["Properties"]["Target"]["RetryPolicy"]
        assert policy["MaximumRetryAttempts"] > 0 and policy["MaximumEventAgeInSeconds"] >= 60
        assert schedule["Properties"]["ScheduleExpressionTimezone"] == "America/New_York"
    alarms = [a["Properties"] for a in resources(template_dict, "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("Dimensions") == [
                  {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]]
    assert [(a["MetricName"], a["ComparisonOperator"], a["Threshold"]) for a in alarms] == [
        ("ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0)]


def alerts_topic(template_dict: Mapping[str, Any]) -> str:
    return only(template_dict, "AWS::SNS::Topic")


def test_failed_executions_alert_through_an_encrypted_topic(
        template_dict: Mapping[str, Any]) -> None:
    topic = alerts_topic(template_dict)
    assert "KmsMasterKeyId" in template_dict["Resources"][topic]["Properties"]
    machines = {logical_id for logical_id, r
                in resources(template_dict, "AWS::StepFunctions::StateMachine").items()
                if any(t["Key"] == WORKFLOW_TAG for t in r["Properties"]["Tags"])}
    (rule,) = [r["Properties"] for r in resources(template_dict, "AWS::Events::Rule").values()]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert {m["Ref"] for m in pattern["detail"]["stateMachineArn"]} == machines
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": topic}
    assert "Arn" in target["DeadLetterConfig"]
    # The key lets EventBridge and CloudWatch publish to the encrypted topic.
    (key,) = resources(template_dict, "AWS::KMS::Key").values()
    services = {service for s in key["Properties"]["KeyPolicy"]["Statement"]
                for service in listed(s["Principal"].get("Service", []))}
    assert {"events.amazonaws.com", "cloudwatch.amazonaws.com"} <= services


def test_two_alarms_notify_the_topic(template_dict: Mapping[str, Any]) -> None:
    """A missed weekly run and the dead-letter queue ($0.10 a month each); a function's error is
    alerted as its execution's failure (test_failed_executions_alert_through_an_encrypted_topic),
    since Step Functions alone invokes the functions."""
    topic = alerts_topic(template_dict)
    alarms = [a["Properties"]
              for a in resources(template_dict, "AWS::CloudWatch::Alarm").values()]
    assert all(a["AlarmActions"] == [{"Ref": topic}] for a in alarms)
    assert sorted(a["MetricName"] for a in alarms) == ["ApproximateNumberOfMessagesVisible",
                                                       "WeeklyRunCompleted"]
    assert resources(template_dict, "AWS::CloudWatch::CompositeAlarm") == {}
    assert resources(template_dict, "AWS::Lambda::Permission") == {}  # nothing else invokes one
    (missed,) = [a for a in alarms if a.get("MetricName") == "WeeklyRunCompleted"]
    assert missed["Namespace"] == "llmtrade"
    assert missed["Dimensions"] == [{"Name": "service", "Value": "llmtrade"}]
    assert (missed["Statistic"], missed["ComparisonOperator"], missed["Threshold"]) == (
        "Sum", "LessThanThreshold", 1)
    assert missed["TreatMissingData"] == "breaching"
    # CloudWatch's longest alarm window
    assert missed["Period"] * missed["EvaluationPeriods"] == 7 * 86400
    # one queue for every sender (schedules, the alert rule, the email subscription)
    assert len(resources(template_dict, "AWS::SQS::Queue")) == 1


def test_kill_switch_and_report_bucket(template: Template,
                                      template_dict: Mapping[str, Any]) -> None:
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": "/llmtrade/kill-switch",
                                                             "Type": "String", "Value": "enabled"})
    reports = only(template_dict, "AWS::S3::Bucket", ObjectLockEnabled=None)
    bucket = resources(template_dict, "AWS::S3::Bucket")[reports]
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {key: True for key in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 400
    (policy,) = [p for p in resources(template_dict, "AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": reports}]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}


def test_dashboard_shows_runs_functions_cost_equity_orders(
        opted_in_template: Mapping[str, Any]) -> None:
    (dashboard,) = resources(opted_in_template, "AWS::CloudWatch::Dashboard").values()
    body = intrinsic_text(dashboard["Properties"]["DashboardBody"])
    for metric in ("ExecutionsStarted", "ExecutionsFailed", "Duration", "Errors", "LLMCostUSD",
                   "AccountEquityUSD", "OrdersPlaced", "OrdersRejected"):
        assert metric in body


def test_the_custom_metrics_alarmed_and_graphed_are_the_ones_the_code_puts(
        opted_in_template: Mapping[str, Any]) -> None:
    alarmed = {a["Properties"]["MetricName"]
               for a in resources(opted_in_template, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("Namespace") == "llmtrade"}
    (dashboard,) = resources(opted_in_template, "AWS::CloudWatch::Dashboard").values()
    body = intrinsic_text(dashboard["Properties"]["DashboardBody"])
    graphed = (set(re.findall(r'\["llmtrade","(\w+)"', body))
               | set(re.findall(r'MetricName=\\"(\w+)\\"', body)))
    assert alarmed == {Metric.WEEKLY_RUN_COMPLETED}
    assert graphed == {Metric.LLM_COST_USD, Metric.ACCOUNT_EQUITY_USD, Metric.ORDERS_PLACED,
                       Metric.ORDERS_REJECTED}


def test_no_email_subscription_without_the_context(template_dict: Mapping[str, Any]) -> None:
    assert resources(template_dict, "AWS::SNS::Subscription") == {}


def test_alerts_email_subscribes_with_a_dead_letter_queue_and_stays_nag_clean(
        opted_in_stack: Stack, opted_in_template: Mapping[str, Any]) -> None:
    template = opted_in_template
    (subscription,) = resources(template, "AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert (props["Protocol"], props["Endpoint"]) == ("email", "ops@example.com")
    assert props["TopicArn"] == {"Ref": alerts_topic(template)}
    assert "deadLetterTargetArn" in json.dumps(props["RedrivePolicy"])
    # SNS writes an undelivered alert to the queue under the queue's key
    (key,) = resources(template, "AWS::KMS::Key").values()
    assert any("sns.amazonaws.com" in listed(s["Principal"].get("Service", []))
               and set(listed(s["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
               for s in key["Properties"]["KeyPolicy"]["Statement"])
    # SNSRedrivePolicy only applies with a subscription
    for pack in (AwsSolutionsChecks, ServerlessChecks):
        assert pack(verbose=True).validate_scope(opted_in_stack).violations == []


def test_a_council_step_with_a_failing_chairman_and_backup_fits_its_lambda() -> None:
    """A hung chairman, its repair, the backup and its repair: four OpenRouter calls, each bounded
    in total time, must end inside the council Lambda, so the council goes FLAT as data instead of
    the Lambda timing out."""
    from llmtrade.adapters.llm.openrouter import OpenRouterLLM
    from llmtrade.config import load_settings
    from llmtrade.ports import EventStore
    from llmtrade.wiring import live_services

    from infra.functions import function_timeout

    settings = load_settings()

    class Keys:
        def get(self, name: str) -> str:
            return "x"

    # the models alone need no event store
    services = live_services(settings, Keys(), store=cast(EventStore, None), needs={"llm"})
    assert isinstance(services.llm, OpenRouterLLM)
    calls = 2 * (1 + settings.models.repair_attempts)
    assert calls * services.llm.max_total_seconds < function_timeout("council").to_seconds()
