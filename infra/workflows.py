"""State machines compiled from the declaration in llmtrade.workflow; never hand-written ASL.

State layout (see llmtrade.workflow): the opening task gets `{"action", "input", "execution"}` and
its result is `$.run`; a Choice then ends the execution (Succeed) when `$.run.proceed` is false.
Every later task gets `{"action", "run", "execution"}` (plus `"item"` inside a fan-out) and its
result lands in `$.results.<name>`. A poll is start → check → Choice (done → the next step;
otherwise → Wait → check). No Catch anywhere: a failed state must stay failed so that redrive
reruns exactly it (API_NOTES, AWS).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from llmtrade.workflow import WORKFLOWS, FanOut, Poll, Step, Task, Workflow

from infra import acknowledge, nag_ref
from infra.functions import FUNCTION_TAG

WORKFLOW_TAG = "llmtrade:workflow"
RUN = sfn.JsonPath.object_at("$.run")
# the execution's name: the opening claims a scheduled run with it; every step logs it
# (correlation id)
EXECUTION = sfn.JsonPath.string_at("$$.Execution.Name")


def _invoke(scope: Construct, task: Task, function: lambda_.IFunction, payload: dict[str, Any],
            result_path: str) -> tasks.LambdaInvoke:
    invoke = tasks.LambdaInvoke(
        scope,
        task.name,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,  # the handler's dict itself, not the Invoke API envelope
        result_path=result_path,
        task_timeout=sfn.Timeout.duration(Duration.seconds(task.timeout_seconds)),
        # retry_on_service_exceptions stays on (CDK default): transient Lambda service errors.
    )
    # Fan-outs can hit a new account's low concurrency quota; a throttle is worth waiting out.
    invoke.add_retry(errors=["Lambda.TooManyRequestsException"], interval=Duration.seconds(5),
                     max_attempts=6, backoff_rate=2)
    return invoke


def _step(scope: Construct, step: Step, functions: Mapping[str, lambda_.IFunction]
          ) -> tuple[sfn.State, Callable[[sfn.State], object]]:
    """One step's states: (the state it starts with, how to link it to the state after it)."""
    result_path = f"$.results.{step.name}"
    if isinstance(step, FanOut):
        fan_out = sfn.Map(
            scope,
            step.name,
            items_path=f"$.run.{step.over}",
            item_selector={"run": RUN, "item": sfn.JsonPath.string_at("$$.Map.Item.Value"),
                           "execution": EXECUTION},
            max_concurrency=step.max_concurrency or None,  # 0 means no limit, as when absent
            result_path=result_path,
        )
        inner = step.task
        fan_out.item_processor(_invoke(scope, inner, functions[inner.function],
                                       {"action": inner.name, "run": RUN,
                                        "item": sfn.JsonPath.string_at("$.item"),
                                        "execution": sfn.JsonPath.string_at("$.execution")}, "$"))
        return fan_out, fan_out.next
    if isinstance(step, Poll):
        start, check = (_invoke(scope, task, functions[task.function],
                                {"action": task.name, "run": RUN, "execution": EXECUTION},
                                f"$.results.{task.name}")
                        for task in (step.start, step.check))
        # The first check follows the start at once (quick providers are done then); only a running
        # job waits.
        wait = sfn.Wait(scope, step.wait_name,
                        time=sfn.WaitTime.seconds_path(f"$.run.{step.wait_seconds_key}"))
        done = sfn.Choice(scope, step.choice_name).otherwise(wait)
        start.next(check).next(done)
        wait.next(check)
        condition = sfn.Condition.boolean_equals(f"$.results.{step.check.name}.{step.done_key}",
                                                 True)
        return start, lambda after: done.when(condition, after)
    task = _invoke(scope, step, functions[step.function],
                   {"action": step.name, "run": RUN, "execution": EXECUTION}, result_path)
    return task, task.next


def compile_workflow(scope: Construct, workflow: Workflow,
                     functions: Mapping[str, lambda_.IFunction]) -> sfn.State:
    """The declaration as states: the opening task, the Choice that ends a run the opening stopped
    (a duplicate delivery, the kill switch), then each step in order; returns the first state."""
    opening = workflow.opening
    first = _invoke(scope, opening, functions[opening.function],
                    {"action": opening.name, "input": sfn.JsonPath.entire_payload,
                     "execution": EXECUTION}, "$.run")
    stopped = sfn.Succeed(scope, workflow.stopped,
                          comment="the opening said not to proceed: see $.run.reason")
    proceed = sfn.Choice(scope, workflow.proceed_choice).when(
        sfn.Condition.boolean_equals(f"$.run.{workflow.proceed_key}", False), stopped)
    first.next(proceed)
    link_to_next: Callable[[sfn.State], object] = proceed.otherwise
    for step in workflow.steps:
        entry, following = _step(scope, step, functions)
        link_to_next(entry)
        link_to_next = following
    return first


class Workflows(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 functions: Mapping[str, lambda_.IFunction],
                 workflows: Iterable[Workflow] = WORKFLOWS.values()) -> None:
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for workflow in workflows:
            self.state_machines[workflow.name] = self._state_machine(workflow, functions)

    def _state_machine(self, workflow: Workflow,
                       functions: Mapping[str, lambda_.IFunction]) -> sfn.StateMachine:
        scope = Construct(self, workflow.name)
        # readable in the console, where reruns happen
        name = f"{Stack.of(self).stack_name}-{workflow.name}"
        log_group = logs.LogGroup(
            scope,
            "Logs",
            # the prefix keeps log resource policies small
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        state_machine = sfn.StateMachine(
            scope,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,  # redrive, and runs over 5 minutes
            definition_body=sfn.DefinitionBody.from_chainable(
                compile_workflow(scope, workflow, functions)),
            timeout=Duration.seconds(workflow.timeout_seconds),
            tracing_enabled=True,
            # State data is only keys, but there is no need to copy it into logs.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=False),
        )
        Tags.of(state_machine).add(WORKFLOW_TAG, workflow.name)
        acknowledge(state_machine, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray tracing and CloudWatch Logs delivery accept only Resource '*' "
                    "(CDK-generated).")
        for function in sorted({task.function for task in workflow.tasks()}):
            arn = nag_ref(self, functions[function].function_arn)
            acknowledge(state_machine, f"AwsSolutions-IAM5[Resource::{arn}:*]",
                        "CDK grants invoke on the function's versions and aliases (<arn>:*) too.")
        return state_machine


# ----------------------------------------------------------------- reading the synthesized template
def _resource_tagged(template: Mapping[str, Any], resource_type: str, key: str) -> dict[str, str]:
    """Logical id -> tag value, for resources of that type carrying the tag."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == resource_type:
            for tag in resource.get("Properties", {}).get("Tags", []):
                if tag["Key"] == key:
                    found[logical_id] = tag["Value"]
    return found


def definition(template: Mapping[str, Any], workflow: str,
               function_arns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ASL of one synthesized state machine. A task's Lambda ARN becomes
    `function_arns[<function>]` (default `<function:research>` etc.): which function each Resource
    calls is then plain to see, and a test can point them at its own (moto) functions. Other
    intrinsics become `${LogicalId.Attr}`."""
    machines = {v: k for k, v in _resource_tagged(template, "AWS::StepFunctions::StateMachine",
                                                  WORKFLOW_TAG).items()}
    functions = _resource_tagged(template, "AWS::Lambda::Function", FUNCTION_TAG)
    arns = dict(function_arns or {})

    def get_att(logical_id: str, attribute: str) -> str:
        if logical_id in functions and attribute == "Arn":
            return arns.get(functions[logical_id], f"<function:{functions[logical_id]}>")
        return f"${{{logical_id}.{attribute}}}"
    definition_string = template["Resources"][machines[workflow]]["Properties"][
        "DefinitionString"]
    definition: dict[str, Any] = json.loads(intrinsic_text(definition_string, get_att))
    return definition


def intrinsic_text(part: Any, get_att: Callable[[str, str], str] | None = None) -> str:
    """A CloudFormation value as readable text: GetAtt -> `${Id.Attr}` (or what `get_att` says),
    Ref -> `${Id}`, Join joined. Enough for the definitions and policies this stack synthesizes."""
    if isinstance(part, str):
        return part
    if "Fn::GetAtt" in part:
        logical_id, attribute = part["Fn::GetAtt"]
        return get_att(logical_id, attribute) if get_att else f"${{{logical_id}.{attribute}}}"
    if "Ref" in part:
        return f"${{{part['Ref']}}}"
    if "Fn::Join" in part:
        separator, parts = part["Fn::Join"]
        return str(separator).join(intrinsic_text(p, get_att) for p in parts)
    raise ValueError(f"unexpected intrinsic: {part}")
