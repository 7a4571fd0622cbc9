"""What the synthesized template must hold (SPEC §9) and that it is clean for cdk-nag and
cfn-lint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from cfnlint.api import lint
from llmtrade.config import WEEKDAYS, Settings
from llmtrade.domain.calendar import ET, early_closes, pre_close_checkpoint
from llmtrade.run_keys import WeekRun
from llmtrade.workflow import FUNCTION_SPECS, FUNCTIONS, WORKFLOWS, FanOut, Function, Poll, Workflow

from infra.functions import FUNCTION_TAG
from infra.workflows import WORKFLOW_TAG, definition


def resources(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def tagged(template: Mapping[str, Any], resource_type: str, key: str) -> dict[str, dict[str, Any]]:
    """Tag value -> properties of the resource carrying it."""
    return {tag["Value"]: r["Properties"] for r in resources(template, resource_type).values()
            for tag in r["Properties"].get("Tags", []) if tag["Key"] == key}


def test_event_table_keys_index_and_retention(template: Template) -> None:
    # the events and Powertools' idempotency records
    template.resource_count_is("AWS::DynamoDB::Table", 2)
    template.has_resource("AWS::DynamoDB::Table", {
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": Match.object_like({
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": True,
            "GlobalSecondaryIndexes": [{
                "IndexName": "by_account_kind",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                              {"AttributeName": "kind", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }],
        }),
    })


def test_two_secrets_for_the_keys(template_dict: Mapping[str, Any]) -> None:
    secrets = resources(template_dict, "AWS::SecretsManager::Secret").values()
    assert sorted(s["Properties"]["Name"] for s in secrets) == ["llmtrade/broker-keys",
                                                                "llmtrade/llm-keys"]


def test_both_state_machines_exist(template_dict: Mapping[str, Any]) -> None:
    machines = tagged(template_dict, "AWS::StepFunctions::StateMachine", WORKFLOW_TAG)
    assert set(machines) == {"weekly", "checkpoint"}
    for name, props in machines.items():
        assert props["StateMachineName"] == f"llmtrade-{name}"
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_schedules_run_in_new_york_time(template_dict: Mapping[str, Any]) -> None:
    machines = {r["Properties"]["StateMachineName"].removeprefix("llmtrade-"): logical_id
                for logical_id, r
                in resources(template_dict, "AWS::StepFunctions::StateMachine").items()}
    schedules = [r["Properties"]
                 for r in resources(template_dict, "AWS::Scheduler::Schedule").values()
                 if r["Properties"]["ScheduleExpression"].startswith("cron(")]
    started = sorted((s["ScheduleExpression"], s["Target"]["Arn"]["Ref"]) for s in schedules)
    # SPEC §3: Wednesday 08:00; SPEC §4: 09:00, 12:00, 14:00, 15:50 on weekdays
    # (config/schedule.yaml).
    assert started == sorted([
        ("cron(0 8 ? * WED *)", machines["weekly"]),
        ("cron(0 9 ? * MON-FRI *)", machines["checkpoint"]),
        ("cron(0 12 ? * MON-FRI *)", machines["checkpoint"]),
        ("cron(0 14 ? * MON-FRI *)", machines["checkpoint"]),
        ("cron(50 15 ? * MON-FRI *)", machines["checkpoint"]),
    ])
    for schedule in schedules:
        assert schedule["ScheduleExpressionTimezone"] == "America/New_York"
        assert json.loads(schedule["Target"]["Input"]) == {
            "scheduled_time": "<aws.scheduler.scheduled-time>"}


def test_early_closes_get_a_one_time_checkpoint_ten_minutes_before_the_close(
        template_dict: Mapping[str, Any], settings: Settings) -> None:
    """One `at(...)` schedule per early close the calendar data holds from the synthesis day on,
    at the moment the replay uses too (domain.calendar), starting the checkpoint machine."""
    checkpoint = next(logical_id for logical_id, r
                      in resources(template_dict, "AWS::StepFunctions::StateMachine").items()
                      if r["Properties"]["StateMachineName"] == "llmtrade-checkpoint")
    once = [r["Properties"] for r in resources(template_dict, "AWS::Scheduler::Schedule").values()
            if r["Properties"]["ScheduleExpression"].startswith("at(")]
    today = datetime.now(ET).date()
    expected = [m for day in early_closes(today)
                if (m := pre_close_checkpoint(settings.schedule, day)) is not None]
    assert expected and all(m.time() == time(12, 50) for m in expected)
    assert sorted(s["ScheduleExpression"] for s in once) == [
        f"at({m:%Y-%m-%dT%H:%M:%S})" for m in expected]
    for schedule in once:
        assert schedule["ScheduleExpressionTimezone"] == "America/New_York"
        assert schedule["Target"]["Arn"]["Ref"] == checkpoint
        assert json.loads(schedule["Target"]["Input"]) == {
            "scheduled_time": "<aws.scheduler.scheduled-time>"}
        assert schedule["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == 300


def fires(expression: str) -> set[tuple[str, int, int]]:
    """(day, hour, minute) for every start of a weekly cron such as
    `cron(50 15 ? * MON-FRI *)`."""
    minute, hour, _, _, days, _ = expression.removeprefix("cron(").removesuffix(")").split()
    first, _, last = days.partition("-")
    listed = (WEEKDAYS[WEEKDAYS.index(first):WEEKDAYS.index(last) + 1] if last
              else days.split(","))
    return {(day, int(hour), int(minute)) for day in listed}


def test_schedules_start_at_the_moments_the_config_computes(
        template_dict: Mapping[str, Any], settings: Settings) -> None:
    """Infra's crons and the moments the steps and the replay use come from the one
    ScheduleConfig."""
    started: dict[str, set[tuple[str, int, int]]] = {"weekly": set(), "checkpoint": set()}
    machines = {logical_id: r["Properties"]["StateMachineName"].removeprefix("llmtrade-")
                for logical_id, r
                in resources(template_dict, "AWS::StepFunctions::StateMachine").items()}
    for schedule in resources(template_dict, "AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        if props["ScheduleExpression"].startswith("cron("):
            started[machines[props["Target"]["Arn"]["Ref"]]] |= fires(props["ScheduleExpression"])
    config, monday = settings.schedule, date(2026, 11, 30)
    moments = [m for n in range(7) for m in config.checkpoint_moments(monday + timedelta(days=n))]
    assert started["checkpoint"] == {(WEEKDAYS[m.weekday()], m.hour, m.minute) for m in moments}
    weekly = config.weekly_run_at("2026-12-02")
    assert started["weekly"] == {(WEEKDAYS[weekly.weekday()], weekly.hour, weekly.minute)}


def test_functions(template_dict: Mapping[str, Any]) -> None:
    functions = tagged(template_dict, "AWS::Lambda::Function", FUNCTION_TAG)
    assert set(functions) == set(FUNCTIONS)
    (layer,) = resources(template_dict, "AWS::Lambda::LayerVersion")
    common = {"TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "LLMTRADE_MODE", "KILL_SWITCH_PARAMETER",
              "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL",
              "PYDANTIC_DISABLE_PLUGINS"}
    own = {"research": {"LLM_SECRET_ARN"}, "council": {"LLM_SECRET_ARN"},
           "execute": {"BROKER_SECRET_ARN", "REPORT_BUCKET", "ALERTS_TOPIC_ARN", "SEAL_BUCKET"},
           "checkpoint": {"BROKER_SECRET_ARN"}}
    for name, props in functions.items():
        assert props["Runtime"] == "python3.13"
        assert props["Handler"] == "handler.handler"
        assert props["Architectures"] == ["arm64"]
        assert props["Layers"] == [{"Ref": layer}]
        assert props["MemorySize"] == FUNCTION_SPECS[cast(Function, name)].memory_mb
        assert props["TracingConfig"] == {"Mode": "Active"}
        variables = props["Environment"]["Variables"]
        assert set(variables) == common | own[name]
        assert variables["LLMTRADE_MODE"] == "offline"
        assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
        assert (variables["POWERTOOLS_SERVICE_NAME"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
                == "llmtrade")


def walk(states: dict[str, Any], start: str, proceed_choice: str) -> list[str]:
    """The states in order along the way through: the opening's Choice goes on (its Default), a
    poll's Choice takes its first (done) branch."""
    order = [start]
    while True:
        state = states[order[-1]]
        if order[-1] == proceed_choice:
            following = state["Default"]
        else:
            following = (state["Choices"][0]["Next"] if state["Type"] == "Choice"
                         else state.get("Next"))
        if following is None:
            return order
        order.append(following)


def declared_states(workflow: Workflow) -> list[str]:
    names = [workflow.opening.name, workflow.proceed_choice]
    for step in workflow.steps:
        if isinstance(step, Poll):
            names += [step.start.name, step.check.name, step.wait_name, step.choice_name]
        else:
            names.append(step.name)
    return [*names, workflow.stopped]


def keys_anywhere(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys_anywhere(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys_anywhere(v)}
    return set()


def assert_task(state: dict[str, Any], name: str, function: str, timeout: int) -> None:
    assert state["Type"] == "Task"
    # The function itself is the Resource (payload_response_only): its returned dict is the result.
    assert state["Resource"] == f"<function:{function}>"
    assert state["Parameters"]["action"] == name
    assert state["TimeoutSeconds"] == timeout
    assert any("Lambda.ServiceException" in r["ErrorEquals"] for r in state["Retry"])


@pytest.mark.parametrize("workflow", WORKFLOWS.values(), ids=list(WORKFLOWS))
def test_definition_follows_the_declaration(template_dict: Mapping[str, Any],
                                             workflow: Workflow) -> None:
    asl = definition(template_dict, workflow.name)
    states = asl["States"]
    expected = declared_states(workflow)
    assert list(states) == expected
    waits = {step.wait_name for step in workflow.steps if isinstance(step, Poll)}
    assert walk(states, asl["StartAt"], workflow.proceed_choice) == [
        name for name in expected if name not in waits | {workflow.stopped}]
    assert "End" in states[expected[-2]]
    # the opening's verdict: `proceed` false (a duplicate delivery, the kill switch) ends the run
    # successfully
    assert states[workflow.opening.name]["Next"] == workflow.proceed_choice
    assert states[workflow.proceed_choice]["Choices"] == [
        {"Variable": f"$.run.{workflow.proceed_key}", "BooleanEquals": False,
         "Next": workflow.stopped}]
    assert states[workflow.stopped]["Type"] == "Succeed"
    # A Catch would break redrive (API_NOTES, AWS); failures must propagate.
    assert "Catch" not in keys_anywhere(asl)

    opening = workflow.opening
    assert_task(states[opening.name], opening.name, opening.function, opening.timeout_seconds)
    assert states[opening.name]["Parameters"]["input.$"] == "$"
    # to claim a scheduled run
    assert states[opening.name]["Parameters"]["execution.$"] == "$$.Execution.Name"
    assert states[opening.name]["ResultPath"] == "$.run"
    for step in workflow.steps:
        if isinstance(step, Poll):
            # start → check → Choice: done goes on (walked above), otherwise Wait → check again
            for task in (step.start, step.check):
                assert_task(states[task.name], task.name, task.function, task.timeout_seconds)
                assert states[task.name]["Parameters"]["run.$"] == "$.run"
                assert states[task.name]["Parameters"]["execution.$"] == "$$.Execution.Name"
                assert states[task.name]["ResultPath"] == f"$.results.{task.name}"
            # the Wait reads a key the run really has
            assert step.wait_seconds_key in WeekRun.model_fields
            assert states[step.wait_name] == {"Type": "Wait",
                                              "SecondsPath": f"$.run.{step.wait_seconds_key}",
                                              "Next": step.check.name}
            choice = states[step.choice_name]
            assert choice["Type"] == "Choice" and choice["Default"] == step.wait_name
            assert [{k: v for k, v in c.items() if k != "Next"} for c in choice["Choices"]] == [
                {"Variable": f"$.results.{step.check.name}.{step.done_key}", "BooleanEquals": True}]
            continue
        state = states[step.name]
        assert state["ResultPath"] == f"$.results.{step.name}"
        if isinstance(step, FanOut):
            assert state["Type"] == "Map"
            assert state["ItemsPath"] == f"$.run.{step.over}"
            assert state["ItemSelector"] == {"run.$": "$.run", "item.$": "$$.Map.Item.Value",
                                             "execution.$": "$$.Execution.Name"}
            assert state.get("MaxConcurrency", 0) == step.max_concurrency
            inner = state["ItemProcessor"]["States"]
            assert list(inner) == [step.task.name]
            assert_task(inner[step.task.name], step.task.name, step.task.function,
                        step.task.timeout_seconds)
            assert inner[step.task.name]["Parameters"]["item.$"] == "$.item"
            assert inner[step.task.name]["Parameters"]["execution.$"] == "$.execution"
        else:
            assert_task(state, step.name, step.function, step.timeout_seconds)
            assert state["Parameters"]["run.$"] == "$.run"
            # the logs' correlation id
            assert state["Parameters"]["execution.$"] == "$$.Execution.Name"


@pytest.mark.parametrize("workflow", WORKFLOWS.values(), ids=list(WORKFLOWS))
def test_state_machine_timeout(template_dict: Mapping[str, Any], workflow: Workflow) -> None:
    assert definition(template_dict, workflow.name)["TimeoutSeconds"] == workflow.timeout_seconds


def test_definition_points_tasks_at_given_arns(template_dict: Mapping[str, Any]) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:{}".format
    asl = definition(template_dict, "checkpoint", {name: arn(name) for name in FUNCTIONS})
    assert asl["States"]["open_checkpoint"]["Resource"] == arn("checkpoint")


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks],
                         ids=["AwsSolutions", "Serverless"])
def test_cdk_nag_finds_nothing_unacknowledged(template: Template, stack: Stack,
                                              pack: type) -> None:
    # cdk-nag 3 fails `cdk synth` on any finding, warnings included, so none may remain.
    report = pack(verbose=True).validate_scope(stack)
    findings = [f"{v.rule_name} ({v.severity}) at "
                f"{[r.construct_path for r in v.violating_resources]}: {v.description}"
                for v in report.violations]
    assert findings == []


def test_cfn_lint_finds_nothing(template_dict: Mapping[str, Any]) -> None:
    # Errors, warnings and informational findings alike. Known limit: cfn-lint does not check
    # definitions built with intrinsics (test_definition_* do).
    findings = [str(m) for m in lint(json.dumps(template_dict), regions=["us-east-1"])]
    assert findings == []


@pytest.mark.parametrize("resource_type", ["AWS::Lambda::Function",
                                           "AWS::StepFunctions::StateMachine"])
def test_each_runs_after_its_role_policy(template_dict: Mapping[str, Any],
                                         resource_type: str) -> None:
    # The role is ordered by the GetAtt of its ARN (a DependsOn on it is W3005); its policy is not.
    policies = resources(template_dict, "AWS::IAM::Policy")
    for resource in resources(template_dict, resource_type).values():
        role_arn = resource["Properties"].get("Role") or resource["Properties"]["RoleArn"]
        role = role_arn["Fn::GetAtt"][0]
        assert {d for d in resource["DependsOn"] if d in policies
                and role in {r["Ref"] for r in policies[d]["Properties"]["Roles"]}}, resource
        assert role not in resource["DependsOn"]


def test_unknown_mode_is_refused() -> None:
    from infra.app import build_app

    with pytest.raises(Exception, match="mode"):
        build_app({"aws:cdk:bundling-stacks": [], "mode": "paper"})
