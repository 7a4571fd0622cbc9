"""Safe to run unattended: one run per scheduled time, reruns that change nothing twice, the kill
switch, least-privilege secrets per function, a checked environment, metrics and one correlation id
per execution.

The state-machine tests run the synthesized definitions in moto against the real handlers (the
`cloud` fixture of test_state_machine_moto); the same declaration in the local runner:
test_operations_local.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import respx
from aws_lambda_powertools.utilities import parameters
from llmtrade.adapters.broker.ledger_dynamodb import DynamoDBOrderLedger
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.broker.sim_broker import SimBroker
from llmtrade.adapters.broker.sim_market import SimMarket
from llmtrade.adapters.store.dynamodb import DynamoDBEventStore
from llmtrade.adapters.store.secrets import BROKER_SECRET, LLM_SECRET, MissingKeys, required_keys
from llmtrade.config import Settings, load_settings
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints import lambda_entry
from llmtrade.entrypoints.cli import main
from llmtrade.environment import EnvironmentInvalid, FunctionEnvironment
from llmtrade.schemas import SHARED_ACCOUNT, BrokerOrder, EventKind
from llmtrade.services import Services
from llmtrade.wiring import services_from_environment
from llmtrade.workflow import Need
from moto import mock_aws

from tests.adapters.fake_alpaca import FakeAlpaca
from tests.conftest import WEEK
from tests.workflow import test_state_machine_moto as moto
from tests.workflow.expected import TRADING, assert_complete_week
from tests.workflow.test_operations_local import SCHEDULED
from tests.workflow.test_state_machine_moto import (
    KILL_SWITCH,
    TABLE,
    execute,
    finished,
    forget_warm_containers,
    states_entered,
)

pytest.importorskip("aws_cdk")

cloud, template = moto.cloud, moto.template  # the same fixtures: moto running the state machines
SCHEDULED_SUBJECT = "weekly@2026-11-25T08:00:00-05:00"


def ledger() -> dict[str, list[BrokerOrder]]:
    """The simulated broker's state: every order it holds, per account (its own partitions of the
    table)."""
    held = DynamoDBOrderLedger(TABLE)
    return {account: held.orders(account) for account in TRADING}


def orders_held(state: dict[str, list[BrokerOrder]]) -> int:
    return sum(len(orders) for orders in state.values())


def redrive(cloud: dict[str, Any], workflow: str, name: str,
            execution_input: dict[str, Any]) -> dict[str, Any]:
    """A redrive keeps the execution's name and input (moto has no redrive_execution, and a name is
    unique per state machine): the same definition under a new state machine, started with the same
    name and input."""
    client = cloud["client"]
    machine = client.create_state_machine(
        name=f"llmtrade-{workflow}-redrive-{len(cloud['invoked'])}",
        roleArn=cloud["sfn_role"], definition=cloud["definitions"][workflow])
    return execute(cloud, workflow, execution_input, name=name,
                   machine=machine["stateMachineArn"])


def set_kill_switch(value: str) -> None:
    boto3.client("ssm").put_parameter(Name=KILL_SWITCH, Value=value, Type="String",
                                      Overwrite=True)
    clear_caches: Callable[[], None] = parameters.clear_caches  # Powertools leaves it untyped
    clear_caches()  # the functions cache it 60 s; a test does not wait that long


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format records Powertools printed: one dict per data
    point."""
    points = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: record[name] for group in directive["Dimensions"] for name in group}
            for metric in directive["Metrics"]:
                for value in record[metric["Name"]]:
                    points.append({"name": metric["Name"], "value": value,
                                   "unit": metric["Unit"], **dimensions})
    return points


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    """Every JSON line the handlers log, as Powertools formats it."""
    lines: list[dict[str, Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    keep = Keep()
    keep.setFormatter(lambda_entry.logger.registered_formatter)
    lambda_entry.logger.addHandler(keep)
    yield lines
    lambda_entry.logger._logger.removeHandler(keep)  # Powertools forwards it untyped


# --------------------------------------------------------------------------- duplicate delivery
def test_a_duplicate_scheduled_delivery_runs_the_week_once(
        cloud: dict[str, Any], capsys: pytest.CaptureFixture[str],
        logged: list[dict[str, Any]]) -> None:
    client, machine = cloud["client"], cloud["machines"]["weekly"]
    # EventBridge Scheduler delivers at least once: two executions of one scheduled time, at once
    arns = [client.start_execution(stateMachineArn=machine, name=name,
                                   input=json.dumps(SCHEDULED))["executionArn"]
            for name in ("delivery-1", "delivery-2")]
    done = [finished(cloud, "weekly", arn) for arn in arns]
    assert [d["status"] for d in done] == ["SUCCEEDED", "SUCCEEDED"], done
    outputs = {d["name"]: json.loads(d["output"]) for d in done}
    (duplicate,) = [name for name, output in outputs.items() if output["run"]["proceed"] is False]
    (runner,) = set(outputs) - {duplicate}
    assert (outputs[duplicate]["run"]["stopped"] == "duplicate"
            and runner in outputs[duplicate]["run"]["reason"])
    assert "results" not in outputs[duplicate]
    assert states_entered(cloud, next(d for d in done if d["name"] == duplicate)) == [
        "open_week", "proceed", "stopped"]

    events = DynamoDBEventStore(TABLE).list_week(WEEK)
    # one run: every event once, nine model calls, not eighteen
    assert_complete_week(events)
    (claim,) = [e for e in events if e.kind is EventKind.RUN_CLAIM]
    assert (claim.subject, claim.payload["execution"]) == (SCHEDULED_SUBJECT, runner)
    assert orders_held(ledger()) == 5
    assert Counter(cloud["invoked"])[("research", "open_week")] == 2
    assert Counter(cloud["invoked"])[("council", "chairman")] == 1

    # metrics (namespace llmtrade, dimension service=llmtrade): the week once, orders, cost, equity
    points = emitted_metrics(capsys.readouterr().out)
    assert all(p["service"] == "llmtrade" for p in points)
    assert sum(p["value"] for p in points if p["name"] == "WeeklyRunCompleted") == 1
    assert sum(p["value"] for p in points if p["name"] == "OrdersPlaced") == 5
    assert sum(p["value"] for p in points if p["name"] == "OrdersRejected") == 0
    assert [p["unit"] for p in points if p["name"] == "LLMCostUSD"] == ["None"]
    assert {p["account"] for p in points if p["name"] == "AccountEquityUSD"} == TRADING | {"flat"}

    # one correlation id per execution, on every line of every function
    by_action = {(line["action"], line["correlation_id"]) for line in logged if "action" in line}
    assert {correlation for _, correlation in by_action} == {runner, duplicate}
    assert {action for action, correlation in by_action
            if correlation == duplicate} == {"open_week"}
    wrong = [line for line in logged
             if line.get("correlation_id") == runner and line["message"] == "step done"
             and line.get("week_id") != WEEK]
    assert not wrong, json.dumps(wrong[:2])


# --------------------------------------------------------------------------- rerun after a failure
def test_a_redriven_execution_finishes_the_week_with_nothing_twice(cloud: dict[str, Any]) -> None:
    failures = cloud["failures"]
    failures[("chairman", None)] = 1  # decided and recorded, then the function died
    first = execute(cloud, "weekly", SCHEDULED, name="scheduled-1")
    assert first["status"] == "FAILED" and "chairman died" in first["cause"]
    assert orders_held(ledger()) == 0

    failures[("week_summary", None)] = 1  # every order placed, then the last step died
    second = redrive(cloud, "weekly", "scheduled-1", SCHEDULED)  # its own claim: it goes on
    assert second["status"] == "FAILED" and "week_summary died" in second["cause"]
    placed = ledger()
    assert orders_held(placed) == 5

    third = redrive(cloud, "weekly", "scheduled-1", SCHEDULED)
    assert third["status"] == "SUCCEEDED", third
    assert "stopped" not in states_entered(cloud, third)
    events = DynamoDBEventStore(TABLE).list_week(WEEK)
    # nine model calls: the rerun asked no model again; no event twice
    assert_complete_week(events)
    assert ledger() == placed  # the broker holds exactly the orders it held: none placed twice
    # while another delivery of the same schedule still stops at the claim
    assert (json.loads(execute(cloud, "weekly", SCHEDULED)["output"])["run"]["stopped"]
            == "duplicate")


# --------------------------------------------------------------------------- kill switch
def test_the_kill_switch_stops_a_weekly_run_and_a_checkpoint(
        cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    set_kill_switch("disabled")
    stopped = execute(cloud, "weekly", SCHEDULED)
    assert stopped["status"] == "SUCCEEDED" and states_entered(cloud, stopped)[-1] == "stopped"
    assert json.loads(stopped["output"])["run"]["stopped"] == "disabled"
    store = DynamoDBEventStore(TABLE)
    disabled = store.get(WEEK, SHARED_ACCOUNT, EventKind.RUN_DISABLED, SCHEDULED_SUBJECT)
    assert disabled is not None and "kill switch" in disabled.payload["reason"]
    assert KILL_SWITCH in disabled.payload["reason"]
    assert {e.kind for e in store.list_week(WEEK)} == {EventKind.RUN_DISABLED}  # no model, no claim
    assert cloud["invoked"] == [("research", "open_week")] and orders_held(ledger()) == 0

    # the stopped delivery did not claim: the schedule's run can still happen
    set_kill_switch("enabled")
    assert execute(cloud, "weekly", SCHEDULED)["status"] == "SUCCEEDED"
    placed = ledger()
    assert orders_held(placed) == 5

    set_kill_switch("disabled")
    capsys.readouterr()
    # Monday 12:00 ET
    checkpoint = execute(cloud, "checkpoint", {"scheduled_time": "2026-11-30T17:00:00Z"})
    assert checkpoint["status"] == "SUCCEEDED"
    assert json.loads(checkpoint["output"])["run"]["stopped"] == "disabled"
    assert store.get(WEEK, SHARED_ACCOUNT, EventKind.RUN_DISABLED,
                     "checkpoint@2026-11-30T12:00:00-05:00")
    assert not [e for e in store.list_week(WEEK) if e.kind is EventKind.CHECKPOINT_UPDATE]
    assert ("checkpoint", "checkpoint_account") not in cloud["invoked"]
    assert ledger() == placed
    skipped = [p for p in emitted_metrics(capsys.readouterr().out)
               if p["name"] == "CheckpointSkipped"]
    assert [(p["value"], p["reason"]) for p in skipped] == [(1.0, "disabled")]


# ------------------------------------------------------------------ least privilege, per function
def broker_keys(settings: Settings) -> dict[str, str]:
    return {name: f"value-of-{name.lower()}" for name in required_keys(settings, {"broker"})}


def test_the_checkpoint_function_runs_live_with_the_broker_secret_alone(
        cloud: dict[str, Any], settings: Settings, tmp_path: Path) -> None:
    keys = broker_keys(settings)
    secrets = boto3.client("secretsmanager")
    secrets.put_secret_value(SecretId=cloud["secrets"]["broker"], SecretString=json.dumps(keys))
    # the LLM secret is gone: reading it would fail the step
    secrets.delete_secret(SecretId=cloud["secrets"]["llm"], ForceDeleteWithoutRecovery=True)
    cloud["environments"]["checkpoint"]["LLMTRADE_MODE"] = "live"
    market, now = SimMarket(settings.assets), datetime(2026, 11, 30, 12, 0, tzinfo=ET)
    broker_ledger = SqliteOrderLedger(tmp_path / "alpaca.sqlite")
    sim = SimBroker(market, broker_ledger, starting_equity=100_000, min_equity_for_short=2000,
                    clock=lambda: now)
    credentials = {a.id: (keys[f"{a.key_env}_KEY_ID"], keys[f"{a.key_env}_SECRET_KEY"])
                   for a in settings.trading_accounts}
    with respx.mock(assert_all_called=False) as router:
        FakeAlpaca(sim, market, credentials, clock=lambda: now).install(router)
        done = execute(cloud, "checkpoint", {"scheduled_time": "2026-11-30T17:00:00Z"})
        # asked Alpaca, with its keys
        assert any("/v2/calendar" in str(call.request.url) for call in router.calls)
    assert done["status"] == "SUCCEEDED", done
    skipped = DynamoDBEventStore(TABLE).get(WEEK, SHARED_ACCOUNT, EventKind.CHECKPOINT_SKIPPED,
                                            "2026-11-30T12:00:00-05:00")
    assert skipped is not None and "has no weekly run" in skipped.payload["reason"]
    broker_ledger.close()


def test_each_function_builds_only_what_it_needs_from_its_own_secret(settings: Settings) -> None:
    # no GEMINI_API_KEY
    llm_keys = {"OPENROUTER_API_KEY": "sk-or-secret", "PERPLEXITY_API_KEY": "pplx-secret"}
    environment = {"TABLE_NAME": TABLE, "IDEMPOTENCY_TABLE_NAME": "idempotency",
                   "LLMTRADE_MODE": "live", "KILL_SWITCH_PARAMETER": KILL_SWITCH,
                   "POWERTOOLS_SERVICE_NAME": "llmtrade",
                   "POWERTOOLS_METRICS_NAMESPACE": "llmtrade"}
    forget_warm_containers()
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        llm_arn = secrets.create_secret(Name=LLM_SECRET, SecretString=json.dumps(llm_keys))["ARN"]
        research = FunctionEnvironment.load("research", {**environment, "LLM_SECRET_ARN": llm_arn})
        with pytest.raises(MissingKeys) as missing:
            services_from_environment("research", research)
        assert missing.value.names == ["GEMINI_API_KEY"] and llm_arn in str(missing.value)
        # names, never values
        assert not [value for value in llm_keys.values() if value in str(missing.value)]
        council = services_from_environment("council", FunctionEnvironment.load("council", {
            **environment, "LLM_SECRET_ARN": llm_arn}))
        assert type(council.llm).__name__ == "OpenRouterLLM" and council.research == []
        with pytest.raises(RuntimeError,
                           match=r"the broker .* is not wired in a function that needs only llm"):
            # any moment: the broker is not wired here
            council.broker_at(None).positions("pm-gpt")  # type: ignore[arg-type]
        broker_arn = secrets.create_secret(
            Name=BROKER_SECRET, SecretString=json.dumps(broker_keys(settings)))["ARN"]
        checkpoint = services_from_environment("checkpoint", FunctionEnvironment.load(
            "checkpoint", {**environment, "BROKER_SECRET_ARN": broker_arn,
                           "LLM_SECRET_ARN": "arn:not-read"}))
        with pytest.raises(RuntimeError, match="the models"):
            checkpoint.llm.complete(None)  # type: ignore[arg-type]  # any request: no models here
    forget_warm_containers()


OFFLINE_COUNCIL_LOADS = """
import sys
from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import load_settings
from llmtrade.wiring import offline_services
scratch = sys.argv[1]
council = offline_services(load_settings(), SqliteEventStore(scratch + "/e.sqlite"),
                           SqliteOrderLedger(scratch + "/l.sqlite"), needs={"llm"})
print(sorted(m for m in sys.modules if m.startswith("llmtrade.adapters.")
             and "sim_" in m or m.endswith(".research.offline")))
"""


LIVE_COUNCIL_LOADS = """
import sys
from llmtrade.adapters.store.secrets import EnvSecrets
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import load_settings
from llmtrade.wiring import live_services
council = live_services(load_settings(), EnvSecrets(None),
                        SqliteEventStore(sys.argv[1] + "/live.sqlite"), needs={"llm"})
assert type(council.llm).__name__ == "OpenRouterLLM"
print(sorted(m for m in sys.modules
             if m.startswith(("llmtrade.adapters.broker.", "llmtrade.adapters.research."))))
"""


def test_offline_each_function_builds_only_what_it_needs(tmp_path: Path) -> None:
    from llmtrade.adapters.store.sqlite import SqliteEventStore
    from llmtrade.wiring import offline_services

    def built(*needs: Need) -> Services:
        return offline_services(load_settings(), SqliteEventStore(tmp_path / "e.sqlite"),
                                SqliteOrderLedger(tmp_path / "l.sqlite"), needs=needs)

    council = built("llm")
    assert council.research == [] and council.replay_conflict is not None
    with pytest.raises(RuntimeError, match=r"the simulated broker is not wired .* only llm"):
        council.broker_at(datetime(2026, 11, 25, tzinfo=ET)).positions("pm-gpt")
    with pytest.raises(RuntimeError, match="the simulated market is not wired"):
        council.market.session(datetime(2026, 11, 25).date())
    research = built("research")
    assert [type(p).__name__ for p in research.research] == ["OfflineResearch"]
    # opening a week checks the simulated ledger whatever the function builds
    assert research.replay_conflict(datetime(2026, 11, 25, tzinfo=ET)) is None
    checkpoint = built("broker")
    assert isinstance(checkpoint.broker_at(datetime(2026, 11, 25, tzinfo=ET)), SimBroker)
    assert isinstance(checkpoint.market, SimMarket) and checkpoint.research == []
    # and the council's process never loads the simulator, nor live the Alpaca or research
    # adapters (a cold start's cost)
    for probe in (OFFLINE_COUNCIL_LOADS, LIVE_COUNCIL_LOADS):
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True,
                              text=True, check=True, env={**os.environ, "OPENROUTER_API_KEY":
                                                          "sk-or-live-probe-0000"})
        assert done.stdout.strip() == "[]", done.stdout


# ------------------------------------------------------------------------ the environment contract
BASE = {"TABLE_NAME": "t", "IDEMPOTENCY_TABLE_NAME": "i", "LLMTRADE_MODE": "offline",
        "KILL_SWITCH_PARAMETER": "/llmtrade/kill-switch", "POWERTOOLS_SERVICE_NAME": "llmtrade",
        "POWERTOOLS_METRICS_NAMESPACE": "llmtrade"}


@pytest.mark.parametrize(("function", "environment", "named"), [
    ("research", {**BASE, "LLM_SECRET_ARN": "arn"} | {"TABLE_NAME": ""}, "TABLE_NAME"),
    ("council",
     {k: v for k, v in BASE.items() if k != "KILL_SWITCH_PARAMETER"} | {"LLM_SECRET_ARN": "a"},
     "KILL_SWITCH_PARAMETER"),
    ("checkpoint", {**BASE, "LLM_SECRET_ARN": "arn"}, "BROKER_SECRET_ARN"),
    ("execute", {**BASE, "BROKER_SECRET_ARN": "arn"}, "REPORT_BUCKET"),
    ("execute", {**BASE, "BROKER_SECRET_ARN": "a", "REPORT_BUCKET": "b", "LLMTRADE_MODE": "paper"},
     "LLMTRADE_MODE"),
])
def test_the_environment_model_names_what_is_wrong(
        function: Any, environment: dict[str, str], named: str) -> None:
    with pytest.raises(EnvironmentInvalid,
                       match=f"the {function} function's environment is invalid: .*{named}"):
        FunctionEnvironment.load(function, environment)


def test_a_function_without_its_environment_fails_its_step_naming_the_variable(
        cloud: dict[str, Any]) -> None:
    del cloud["environments"]["checkpoint"]["KILL_SWITCH_PARAMETER"]
    done = execute(cloud, "checkpoint", {"at": "2026-11-30T12:00:00-05:00"})
    assert done["status"] == "FAILED" and done["error"] == "EnvironmentInvalid"
    assert "KILL_SWITCH_PARAMETER" in done["cause"]


# --------------------------------------------------------------------------- llmtrade secrets put
def test_secrets_put_fills_the_two_secrets_and_prints_names_only(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    llm = {"OPENROUTER_API_KEY": "sk-or-v1-abc", "PERPLEXITY_API_KEY": "pplx-abc",
           "GEMINI_API_KEY": "AIza-abc"}
    broker = broker_keys(settings)
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n"
                                for k, v in {**llm, **broker, "UNRELATED": "not-sent"}.items()))
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-west-1")
        assert main(["secrets", "put", "--env-file", str(env_file), "--dry-run",
                     "--region", "eu-west-1"]) == 0
        assert secrets.list_secrets()["SecretList"] == []
        assert main(["secrets", "put", "--env-file", str(env_file), "--region", "eu-west-1"]) == 0
        assert main(["secrets", "put", "--env-file", str(env_file), "--region", "eu-west-1"]) == 0
        stored = {name: json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
                  for name in (LLM_SECRET, BROKER_SECRET)}
        assert stored == {LLM_SECRET: llm, BROKER_SECRET: broker}
    out = capsys.readouterr().out
    assert f"{LLM_SECRET} (created): OPENROUTER_API_KEY, PERPLEXITY_API_KEY, GEMINI_API_KEY" in out
    assert (f"{LLM_SECRET} (updated)" in out
            and f"{BROKER_SECRET} (updated): ALPACA_PM_GPT_KEY_ID" in out)
    assert "dry run" in out and "UNRELATED" not in out
    # names, never values
    assert not [value for value in {**llm, **broker}.values() if value in out]


def test_secrets_put_refuses_a_env_without_every_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENROUTER_API_KEY=sk-or-v1-abc\n")
    with mock_aws():
        assert main(["secrets", "put", "--env-file", str(env_file), "--region", "us-east-1"]) == 2
        assert boto3.client("secretsmanager").list_secrets()["SecretList"] == []
    err = capsys.readouterr().err
    assert ("PERPLEXITY_API_KEY" in err and "ALPACA_COUNCIL_SECRET_KEY" in err
            and "nothing was sent" in err)
    assert "sk-or-v1-abc" not in err
    assert main(["secrets", "put", "--env-file", str(tmp_path / "missing.env")]) == 2


def test_the_secret_and_the_kill_switch_are_read_on_boto3s_default_session() -> None:
    """Powertools' providers make a boto3 session of their own unless given a client: a second load
    of botocore's data at every cold start (~0.1 s)."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
    from llmtrade.adapters.store.secrets import SecretsManagerSecrets
    from llmtrade.environment import ssm_kill_switch

    DEFAULT_PROVIDERS.clear()
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="llm", SecretString=json.dumps({"OPENROUTER_API_KEY": "sk-or-secret"}))["ARN"]
        boto3.client("ssm").put_parameter(Name=KILL_SWITCH, Value="enabled", Type="String")
        assert SecretsManagerSecrets(arn).get("OPENROUTER_API_KEY") == "sk-or-secret"
        assert ssm_kill_switch(KILL_SWITCH)() is None
        assert boto3.DEFAULT_SESSION is not None
        loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
        assert {name: provider.client._loader is loader
                for name, provider in DEFAULT_PROVIDERS.items()} == {"secrets": True, "ssm": True}
    DEFAULT_PROVIDERS.clear()  # their clients belong to this moto
