"""moto executes the synthesized weekly and checkpoint state machines.

The definitions come from the CDK template (never rewritten by hand); moto runs them, and its
Lambda invocations are routed in-process to the real handlers in functions/*/handler.py, which
write to moto's DynamoDB table (created from the template's own key schema) in offline mode.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import cache
from typing import Any, cast

import boto3
import pytest
from llmtrade.adapters.broker.ledger_dynamodb import DynamoDBOrderLedger
from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
from llmtrade.config import ResearchTiming
from llmtrade.entrypoints import lambda_entry
from llmtrade.environment import FunctionEnvironment
from llmtrade.ports import ResearchProvider
from llmtrade.schemas import EventKind
from llmtrade.services import Services
from llmtrade.steps import research as research_step
from llmtrade.wiring import services_from_environment
from llmtrade.workflow import FUNCTIONS, Function
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import DefaultConfig

from tests.conftest import REPO, WEEK
from tests.workflow.expected import TRADING, assert_complete_week
from tests.workflow.test_research_poll import (
    FALLBACK,
    GEMINI,
    NEVER,
    PERPLEXITY,
    FakeClock,
    FakeResearch,
)

pytest.importorskip("aws_cdk")

MOTO_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True},
                              "lambda": {"use_docker": False}}
TABLE, KILL_SWITCH = "llmtrade-events", "/llmtrade/kill-switch"
LLM_SECRET, BROKER_SECRET = "llmtrade/llm-keys", "llmtrade/broker-keys"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@cache
def synthesized() -> dict[str, Any]:
    """Synthesized once per test session (it takes seconds), for every module that runs the state
    machines."""
    from infra.app import STACK_NAME, build_app

    assembly = build_app({"aws:cdk:bundling-stacks": []}).synth()
    return cast(dict[str, Any], assembly.get_stack_by_name(STACK_NAME).template)


@pytest.fixture
def template() -> dict[str, Any]:
    return synthesized()


def _load_handler(function: str) -> Handler:
    spec = importlib.util.spec_from_file_location(f"handler_{function}",
                                                  REPO / "functions" / function / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Handler, module.handler)


class LambdaContext:
    function_name = "llmtrade"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:llmtrade"
    aws_request_id = "moto-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def forget_warm_containers() -> None:
    """What a cold start sees: no cached services, no cached secret or kill switch value."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    # a test may have put its own services in
    if hasattr(lambda_entry._services_for, "cache_clear"):
        lambda_entry._services_for.cache_clear()
    lambda_entry._report_store.cache_clear()
    lambda_entry._notifier.cache_clear()
    clear_caches: Callable[[], None] = parameters.clear_caches  # Powertools leaves it untyped
    clear_caches()
    DEFAULT_PROVIDERS.clear()  # their boto3 clients belong to an earlier moto


@pytest.fixture
def cloud(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with the stack's table, secrets, kill switch and functions; invocations go to the real
    handlers, each function with the environment of the contract
    (llmtrade.environment.FunctionEnvironment)."""
    from infra.workflows import definition

    forget_warm_containers()
    invoked: list[tuple[str, str]] = []
    moto_backend = threading.Lock()
    handlers: dict[str, Handler] = {}
    environments: dict[str, dict[str, str]] = {}
    # (action, item) -> how many invocations to fail first
    failures: dict[tuple[str, str | None], int] = {}

    def invoke(self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: str,
               headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body)
        name = function_name.rsplit(":", 1)[-1].removeprefix("llmtrade-")
        invoked.append((name, event["action"]))
        try:
            # moto's backends are not thread-safe (a Map runs its iterations on threads; a query can
            # meet another's put: "dictionary changed size during iteration"): one handler at a time
            with moto_backend:
                result = handlers[name](event, LambdaContext())
                # a step that did its work and then died (a timeout, a lost connection): the hard
                # case to rerun
                if failures.get(key := (event["action"], event.get("item")), 0) > 0:
                    failures[key] -= 1
                    raise RuntimeError(f"{event['action']} died after doing its work")
        except Exception as exc:  # what Lambda reports for an unhandled error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__,
                               "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()

    # with use_docker False moto's Lambda echoes the payload: run the real handler instead
    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    with mock_aws(config=MOTO_CONFIG):
        table = next(r["Properties"] for r in template["Resources"].values()
                     if r["Type"] == "AWS::DynamoDB::Table"
                     and "GlobalSecondaryIndexes" in r["Properties"])
        boto3.client("dynamodb").create_table(
            TableName=TABLE, KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"], BillingMode="PAY_PER_REQUEST")
        secrets = boto3.client("secretsmanager")
        llm_secret = secrets.create_secret(Name=LLM_SECRET, SecretString="{}")["ARN"]
        broker_secret = secrets.create_secret(Name=BROKER_SECRET, SecretString="{}")["ARN"]
        boto3.client("ssm").put_parameter(Name=KILL_SWITCH, Value="enabled", Type="String")
        boto3.client("s3").create_bucket(Bucket="llmtrade-reports")
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="llmtrade-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn_role = iam.create_role(RoleName="llmtrade-sfn",
                                   AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        common = {"TABLE_NAME": TABLE, "IDEMPOTENCY_TABLE_NAME": "llmtrade-idempotency",
                  "LLMTRADE_MODE": "offline", "KILL_SWITCH_PARAMETER": KILL_SWITCH,
                  "POWERTOOLS_SERVICE_NAME": "llmtrade", "POWERTOOLS_METRICS_NAMESPACE": "llmtrade",
                  "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_TRACE_DISABLED": "true"}
        environments.update({
            "research": {**common, "LLM_SECRET_ARN": llm_secret},
            "council": {**common, "LLM_SECRET_ARN": llm_secret},
            "execute": {**common, "BROKER_SECRET_ARN": broker_secret,
                        "REPORT_BUCKET": "llmtrade-reports"},
            "checkpoint": {**common, "BROKER_SECRET_ARN": broker_secret}})
        for key in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE",
                    "POWERTOOLS_TRACE_DISABLED"):
            monkeypatch.setenv(key, common[key])  # Powertools reads them when a handler is made
        # each function reads its own environment (not os.environ: moto's threads read that one
        # while others would change it), checked by the real FunctionEnvironment
        monkeypatch.setattr(lambda_entry, "services_from_environment",
                            lambda function: services_from_environment(
                                function, FunctionEnvironment.load(function,
                                                                   environments[function])))
        handlers.update({name: _load_handler(name) for name in FUNCTIONS})
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("handler.py", "def handler(event, context): pass\n")
        lambdas = boto3.client("lambda")
        arns: dict[str, str] = {
            name: lambdas.create_function(
                FunctionName=f"llmtrade-{name}", Runtime="python3.12", Role=role,
                Handler="handler.handler", Code={"ZipFile": archive.getvalue()},
                Environment={"Variables": environments[name]},
            )["FunctionArn"]
            for name in FUNCTIONS
        }
        client = boto3.client("stepfunctions")
        definitions = {workflow: json.dumps(definition(template, workflow, function_arns=arns))
                       for workflow in ("weekly", "checkpoint")}
        machines = {workflow: client.create_state_machine(name=f"llmtrade-{workflow}",
                                                          roleArn=sfn_role,
                                                          definition=text)["stateMachineArn"]
                    for workflow, text in definitions.items()}
        yield {"machines": machines, "client": client, "invoked": invoked,
               "environments": environments, "failures": failures,
               "secrets": {"llm": llm_secret, "broker": broker_secret},
               "definitions": definitions, "sfn_role": sfn_role}
        forget_warm_containers()


def execute(cloud: dict[str, Any], workflow: str, execution_input: dict[str, Any],
            name: str | None = None, machine: str | None = None) -> dict[str, Any]:
    client = cloud["client"]
    arn = client.start_execution(stateMachineArn=machine or cloud["machines"][workflow],
                                 name=name or uuid.uuid4().hex,
                                 input=json.dumps(execution_input))["executionArn"]
    return finished(cloud, workflow, arn)


def finished(cloud: dict[str, Any], workflow: str, arn: str) -> dict[str, Any]:
    client = cloud["client"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described: dict[str, Any] = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise TimeoutError(f"{workflow} execution still running after 60 s")


def test_moto_runs_the_synthesized_weekly_state_machine_against_the_real_handlers(
        cloud: dict[str, Any]) -> None:
    done = execute(cloud, "weekly", {"week_id": WEEK})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["run"]["week_id"] == WEEK
    assert len(json.dumps(output)) < 16_000  # state carries keys, never documents
    assert {r["account_id"] for r in output["results"]["orders"]} == TRADING | {"flat"}

    store = DynamoDBEventStore(TABLE)
    events = store.list_week(WEEK)
    assert_complete_week(events)
    assert sorted(set(cloud["invoked"])) == sorted({
        ("research", "open_week"), ("research", "research_start"), ("research", "research_check"),
        ("council", "pitch"), ("council", "review"),
        ("council", "chairman"), ("execute", "settle_previous_week"), ("execute", "seal"),
        ("execute", "execute"),
        ("execute", "week_summary")})
    # the simulated broker's ledger lives in its own partitions of the same table
    ledger = DynamoDBOrderLedger(TABLE)

    def ledger_orders() -> int:
        return sum(len(ledger.orders(account)) for account in TRADING)

    assert ledger_orders() == 5

    # a second execution of the same week (a user rerun, or a redelivered schedule) adds nothing
    again = execute(cloud, "weekly", {"week_id": WEEK})
    assert again["status"] == "SUCCEEDED"
    assert store.list_week(WEEK) == events
    assert ledger_orders() == 5


def test_the_weekly_run_publishes_its_report_and_links_it_in_the_notification(
        cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="llmtrade-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox,
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn,
                  Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("REPORT_BUCKET", "llmtrade-reports")  # as infra gives the execute function
    monkeypatch.setenv("ALERTS_TOPIC_ARN", topic)

    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "llmtrade-idempotency")
    # as infra/storage.py declares it (tests/infra checks the key)
    boto3.client("dynamodb").create_table(
        TableName="llmtrade-idempotency", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    forget_warm_containers()

    assert execute(cloud, "weekly", {"week_id": WEEK})["status"] == "SUCCEEDED"
    page = boto3.client("s3").get_object(Bucket="llmtrade-reports",
                                         Key=f"reports/weeks/{WEEK}.html")
    assert (page["ContentType"].startswith("text/html")
            and f"Week {WEEK}".encode() in page["Body"].read())
    [message] = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert f"Week {WEEK}: the weekly run is done." in message["Body"]
    assert f"reports/weeks/{WEEK}.html" in message["Body"] and "X-Amz-Expires" in message["Body"]
    sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
    # a rerun of the week (its week_summary runs again) republishes the page but mails nobody twice
    assert execute(cloud, "weekly", {"week_id": WEEK})["status"] == "SUCCEEDED"
    assert not sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages")


def test_moto_runs_the_checkpoint_state_machine_and_skips_closed_days(
        cloud: dict[str, Any]) -> None:
    assert execute(cloud, "weekly",
                   {"scheduled_time": "2026-11-25T13:00:00Z"})["status"] == "SUCCEEDED"
    done = execute(cloud, "checkpoint", {"scheduled_time": "2026-11-25T17:00:00Z"})  # 12:00 ET
    assert done["status"] == "SUCCEEDED", done
    updates = [e for e in DynamoDBEventStore(TABLE).list_week(WEEK)
               if e.kind is EventKind.CHECKPOINT_UPDATE]
    assert {e.account_id for e in updates} == TRADING
    # Thanksgiving
    holiday = execute(cloud, "checkpoint", {"scheduled_time": "2026-11-26T17:00:00Z"})
    assert (holiday["status"] == "SUCCEEDED"
            and json.loads(holiday["output"])["results"]["checkpoints"] == [])
    assert DynamoDBEventStore(TABLE).get(WEEK, "shared", EventKind.CHECKPOINT_SKIPPED,
                                         "2026-11-26T12:00:00-05:00")


def test_a_failing_step_fails_the_execution_visibly(cloud: dict[str, Any]) -> None:
    done = execute(cloud, "weekly", {"week_id": "2026-11-24"})  # not a Wednesday
    assert done["status"] == "FAILED"
    assert "Wednesday" in json.dumps(done, default=str)


def test_live_mode_reads_secrets_manager_and_names_the_missing_keys(cloud: dict[str, Any]) -> None:
    cloud["environments"]["research"]["LLMTRADE_MODE"] = "live"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=cloud["secrets"]["llm"],
        SecretString=json.dumps({"OPENROUTER_API_KEY": "sk-or-x"}))
    done = execute(cloud, "weekly", {"week_id": WEEK})
    assert done["status"] == "FAILED"
    cause = json.dumps(done, default=str)
    assert ("PERPLEXITY_API_KEY" in cause and "OPENROUTER_API_KEY" not in cause
            and "sk-or-x" not in cause)
    assert cloud["secrets"]["llm"] in cause  # where the key was looked for


def with_research(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                  make: Callable[[Any], list[FakeResearch]]) -> list[FakeResearch]:
    """The handlers' services (each function its own), with these providers for research and a
    1 s wait between checks."""
    def services_for(function: Function) -> Services:
        environment = FunctionEnvironment.load(function, cloud["environments"][function])
        return services_from_environment(function, environment)

    research = services_for("research")
    timing = ResearchTiming(poll_seconds=1,
                            deadline_minutes=research.settings.models.research.deadline_minutes)
    settings = research.settings.model_copy(update={
        "models": research.settings.models.model_copy(update={"research": timing})})
    providers = make(research.market)
    built = {function: dataclasses.replace(services_for(function), settings=settings)
             for function in FUNCTIONS}
    built["research"] = dataclasses.replace(built["research"],
                                            research=cast(list[ResearchProvider], providers))
    monkeypatch.setattr(lambda_entry, "_services_for", lambda function: built[function])
    return providers


def states_entered(cloud: dict[str, Any], done: dict[str, Any]) -> list[str]:
    history = cloud["client"].get_execution_history(executionArn=done["executionArn"])["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in history
            if "stateEnteredEventDetails" in e]


def test_moto_polls_running_research_until_it_completes(
        cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    quick, deep, fallback = with_research(cloud, monkeypatch, lambda market: [
        FakeResearch(PERPLEXITY, market), FakeResearch(GEMINI, market, running_checks=2),
        FakeResearch(FALLBACK, market)])
    done = execute(cloud, "weekly", {"week_id": WEEK})
    assert done["status"] == "SUCCEEDED", done
    entered = states_entered(cloud, done)
    loop = entered[entered.index("research_start"):entered.index("pitches")]
    assert loop == ["research_start", "research_check", "research_done", "research_wait",
                    "research_check", "research_done", "research_wait", "research_check",
                    "research_done"]
    assert (deep.starts, deep.checks, quick.calls, fallback.calls) == (1, 3, 1, 0)
    packs = {e.subject for e in DynamoDBEventStore(TABLE).list_week(WEEK)
             if e.kind is EventKind.RESEARCH_PACK}
    assert packs == {PERPLEXITY, GEMINI}
    assert json.loads(done["output"])["run"]["research_poll_seconds"] == 1


def test_moto_fails_a_stuck_job_at_its_deadline_and_the_execution_without_a_pack(
        cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(research_step, "_now", clock)
    _, stuck, fallback = with_research(cloud, monkeypatch, lambda market: [
        FakeResearch(PERPLEXITY, market, fails=True),
        FakeResearch(GEMINI, market, running_checks=NEVER, clock=clock,
                     check_takes=timedelta(minutes=40)),
        FakeResearch(FALLBACK, market, fails=True)])
    done = execute(cloud, "weekly", {"week_id": WEEK})
    assert done["status"] == "FAILED"
    assert done["error"] == "NoResearch" and "research produced no pack" in done["cause"]
    assert f"{GEMINI}: deadline passed: still running 50 minutes" in done["cause"]
    # checked at +40 and +80 minutes
    assert states_entered(cloud, done).count("research_wait") == 1
    assert (stuck.starts, stuck.checks, fallback.starts) == (1, 2, 1)
    assert ("council", "pitch") not in cloud["invoked"]
    week_failure = DynamoDBEventStore(TABLE).get(WEEK, "shared", EventKind.RESEARCH_FAILURE)
    assert week_failure is not None and week_failure.payload["provider"] is None
