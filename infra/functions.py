"""The common layer (bundled locally with pip, no Docker) and the four Lambda functions."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from llmtrade.config import yaml_twin
from llmtrade.config.settings import write_snapshot
from llmtrade.prompts import compile_into
from llmtrade.workflow import FUNCTION_SPECS, SEAL_PREFIX, TASKS, WORKFLOWS, FanOut, Function

from infra import CONFIG_DIR, REPO, acknowledge, nag_ref
from infra.layer_bytecode import (
    COMPILE,
    LAMBDA_SITE,
    LayerPython,
    compile_site,
    find_layer_python,
    warn_missing,
)
from infra.storage import Storage

RUNTIME = lambda_.Runtime.PYTHON_3_13
PYTHON_VERSION = "3.13"  # the layer's binary wheels (pydantic-core) must match RUNTIME's CPython
ARCHITECTURE = lambda_.Architecture.ARM_64  # Graviton: 20% cheaper per GB-second than x86_64
# Wheels for the Lambda platform, whatever machine synthesizes: this is what makes Docker
# unnecessary. The Python 3.13 runtime is Amazon Linux 2023 (glibc 2.34): manylinux2014 and
# manylinux_2_28 wheels both run.
PIP_PLATFORM = ("--platform", "manylinux2014_aarch64", "--platform", "manylinux_2_28_aarch64",
                "--implementation", "cp", "--python-version", PYTHON_VERSION,
                "--abi", f"cp{PYTHON_VERSION.replace('.', '')}", "--only-binary=:all:")
# The Python Lambda runtime ships boto3 and its dependencies; a copy in the layer would shadow its
# matched set. requirements/lock.sh leaves them out of the layer's lock.
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six",
                       "urllib3"}
# Pinned with every file's hash for the Lambda platform (requirements/lock.sh regenerates it).
LAYER_LOCK = REPO / "requirements" / "layer.txt"
# Parts of the locked packages no function imports, removed from the layer after pip (paths under
# python/; tests/infra/test_layer_requirements.py checks the functions' imports never reach them).
# The functions use Powertools' logging, metrics, middleware_factory, shared, tracing and the
# idempotency, jmespath_utils, parameters and typing utilities. dist-info folders stay (licences).
_UNUSED_POWERTOOLS_UTILITIES = ("data_classes", "parser", "auth_alpha", "feature_flags",
                                "circuit_breaker", "kafka", "batch", "data_masking", "streaming",
                                "validation")
LAYER_PRUNE = {
    "yaml/_yaml.*.so": "libyaml's binding (2.8 MB): the config loader and the calendar use "
                       "PyYAML's pure-Python SafeLoader, which never calls it",
    "aws_lambda_powertools/event_handler": "Powertools' HTTP routing for API Gateway, ALB and "
                                           "AppSync (2.2 MB): no function serves HTTP",
    **dict.fromkeys((f"aws_lambda_powertools/utilities/{name}"
                     for name in _UNUSED_POWERTOOLS_UTILITIES),
                    "a Powertools utility no function uses (event shapes, parsing, batches, "
                    "flags...; 0.9 MB together)"),
    "aws_lambda_powertools/utilities/serialization.py": "base64 helpers for data_classes only",
    "aws_lambda_powertools/metrics/provider/datadog": "Datadog metrics: ours go to CloudWatch",
    "pydantic/v1": "pydantic 1's API (0.5 MB), kept for migrations: the package uses pydantic 2's",
    "pydantic/experimental": "pydantic's experimental pipeline API, unused",
    "pydantic/deprecated": "pydantic 1's methods on pydantic 2 models (.dict(), parse_obj, "
                           "0.1 MB), imported only when called: the package calls none",
    "aws_lambda_powertools/utilities/idempotency/persistence/redis.py":
        "idempotency records in Redis: ours are in DynamoDB",
    "pydantic/mypy.py": "pydantic's mypy plugin: a type checker's, never imported at run time",
    "anyio": "httpx's async backend (0.6 MB): every adapter uses the synchronous client (an async "
             "request would need anyio: tests/infra/test_layer_requirements.py sends each "
             "adapter's requests without it)",
}
# Top-level packages and modules the layer ships as bytecode only (x.pyc in place of x.py):
# none, since with every source kept beside its bytecode the layer is 14.9 MB unzipped, under the
# 15 MB it may take (bench/bench_assets.py). Bytecode-only third-party packages would make it
# 11.1 MB, at a price: their lines in a traceback show file and line number without the code text.
LAYER_SOURCELESS: tuple[str, ...] = ()
PACKAGE_DIR = REPO / "layers" / "common" / "llmtrade"
FUNCTION_TAG = "llmtrade:function"  # lets template readers (tests) tell the four functions apart
MODES = ("offline", "live")


def runtime_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """[project].dependencies, less what the Lambda runtime already provides."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in dependencies if _dist_name(d) not in PROVIDED_BY_RUNTIME]


def _dist_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    return re.sub(r"[-_.]+", "-", match.group() if match else requirement).lower()


def _layer_files() -> Iterator[tuple[Path, str]]:
    """(source, path inside the layer) for the package and config/*.yaml, sorted, without caches
    and without the command line (entrypoints/cli: no function imports it)."""
    for path in sorted(PACKAGE_DIR.rglob("*")):
        inside = path.relative_to(PACKAGE_DIR)
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" \
                and inside.parts[:2] != ("entrypoints", "cli"):
            yield path, f"python/llmtrade/{inside.as_posix()}"
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        yield path, f"python/llmtrade/config_yaml/{path.name}"


@functools.cache
def layer_python() -> LayerPython | None:
    """The CPython PYTHON_VERSION that compiles the layer (infra.layer_bytecode), found once."""
    return find_layer_python(PYTHON_VERSION)


def stage_package(output_dir: Path) -> None:
    """Lays the package and config out as the layer holds them (under output_dir/python), with
    what a cold start would otherwise make again from read-only files, each used only while the
    files it was made from are unchanged: a JSON twin beside each YAML file (config.yaml_twin),
    the validated settings (config.snapshot) and the compiled prompt templates (prompts)."""
    for source, target in _layer_files():
        destination = output_dir / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        if destination.suffix == ".yaml":
            yaml_twin.write_twin(destination)
    package = output_dir / "python" / "llmtrade"
    write_snapshot(package / "config_yaml")
    compile_into(package / "prompts")


def layer_hash() -> str:
    """Hash of what goes into the layer, so the asset neither fingerprints the whole repository
    (.venv, cdk.out, .git) nor runs pip on every synth: a change of code, config, lock, or of the
    bytecode (none, or which magic number) re-bundles."""
    python = layer_python()
    bytecode = [*COMPILE, LAMBDA_SITE, LAYER_SOURCELESS, python.magic] if python else "no bytecode"
    digest = hashlib.sha256(json.dumps([PIP_PLATFORM, sorted(LAYER_PRUNE), bytecode]).encode()
                            + LAYER_LOCK.read_bytes())
    for source, target in _layer_files():
        digest.update(target.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LayerBundler:
    """Builds the layer on this machine: pip for the Lambda platform, exactly the locked
    releases, each file checked against its hash; then package and config; then the bytecode
    of a local CPython PYTHON_VERSION (infra.layer_bytecode), beside the sources but for
    LAYER_SOURCELESS: /opt is read-only, so a layer without it compiles at every cold start."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        site = Path(output_dir).resolve() / "python"
        python = layer_python()
        compiler = f"compiled by {python.executable}" if python else "no bytecode"
        print(f"llmtrade: bundling the common layer with pip (CPython {PYTHON_VERSION}, "
              f"{ARCHITECTURE.name}; {compiler})", file=sys.stderr)
        # --no-compile: this interpreter is not the runtime's; compile_site() does it below.
        # --no-deps: the lock is complete but for what the runtime provides.
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-compile", "--require-hashes", "--no-deps", *PIP_PLATFORM,
                   "--target", str(site), "--requirement", str(LAYER_LOCK)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Returning False would fall back to Docker, which this project does not use.
            raise RuntimeError("pip could not build the llmtrade layer:\n"
                               f"{result.stderr or result.stdout}")
        for pattern in LAYER_PRUNE:
            for path in site.glob(pattern):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        stage_package(Path(output_dir))
        if python:
            compile_site(site, python, LAYER_SOURCELESS)
        else:
            warn_missing(PYTHON_VERSION)
        return True


# A task's state must outlive its Lambda invocation, so that an invocation never goes on running
# (placing an order, paying a provider) after its state timed out and a redrive started it again.
TIMEOUT_MARGIN_SECONDS = 10


def served_timeouts(function: Function) -> list[int]:
    """The timeouts of every task, in any workflow, that invokes this function."""
    return [t.timeout_seconds for w in WORKFLOWS.values() for t in w.tasks()
            if t.function == function]


def function_timeout(function: Function) -> Duration:
    """Just under the shortest task timeout the function serves (Lambda timeout < task timeout),
    capped at Lambda's 15 minutes."""
    return Duration.seconds(min(min(served_timeouts(function)) - TIMEOUT_MARGIN_SECONDS, 900))


def fan_out_widths(items: Mapping[str, int]) -> dict[Function, int]:
    """Per function, the most invocations one run has going at once: the items of its widest
    fan-out (`items`: run key -> how many, e.g. pm_accounts -> 4), else one. Reserved as the
    function's concurrency, it caps what a runaway run can spend and keeps the rest of the account
    from starving the fan-out; a second run at the same time is throttled and its tasks retry."""
    widths: dict[Function, int] = dict.fromkeys(FUNCTION_SPECS, 1)
    for workflow in WORKFLOWS.values():
        for step in workflow.steps:
            if isinstance(step, FanOut):
                function = step.task.function
                widths[function] = max(widths[function], items[step.over])
    return widths


class Functions(Construct):
    """The four functions, each with its own role granted exactly what its steps call."""

    def __init__(self, scope: Construct, construct_id: str, *, storage: Storage,
                 kill_switch: ssm.IStringParameter, report_bucket: s3.IBucket, alerts: sns.ITopic,
                 alerts_key: kms.IKey, mode: str,
                 reserved_concurrency: Mapping[Function, int] | None = None) -> None:
        super().__init__(scope, construct_id)
        if mode not in MODES:
            raise ValueError(f"context 'mode' must be one of {MODES}, not {mode!r}")
        self.layer = lambda_.LayerVersion(
            self,
            "CommonLayer",
            # The asset root is only nominal: the bundler reads the package and config/ itself.
            code=lambda_.Code.from_asset(
                str(REPO / "layers" / "common"),
                asset_hash=layer_hash(),
                # jsii.implements registers the interface at run time; the type checker needs a cast
                bundling=BundlingOptions(image=DockerImage.from_registry("unused"),
                                         local=cast(ILocalBundling, LayerBundler())),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="llmtrade package, its dependencies and config/*.yaml",
        )
        secrets = {"LLM_SECRET_ARN": storage.llm_secret,
                   "BROKER_SECRET_ARN": storage.broker_secret}
        self.by_name: dict[str, lambda_.Function] = {}
        for name, spec in FUNCTION_SPECS.items():
            secret = secrets[spec.secret_variable]
            function = self._function(name, storage, kill_switch, mode,
                                      {spec.secret_variable: secret.secret_arn},
                                      (reserved_concurrency or {}).get(name))
            secret.grant_read(_role(function))  # GetSecretValue, DescribeSecret on that one secret
            if spec.publishes_reports:
                self._publish_reports(function, report_bucket, alerts, alerts_key)
            if name == TASKS["seal"][1].function:
                self._archive_seals(function, storage.seal_bucket)
            self.by_name[name] = function

    @staticmethod
    def _publish_reports(function: lambda_.Function, report_bucket: s3.IBucket, alerts: sns.ITopic,
                         alerts_key: kms.IKey) -> None:
        function.add_environment("REPORT_BUCKET", report_bucket.bucket_name)
        # Put and read back the weekly HTML report; nothing else on the bucket.
        function.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:PutObject", "s3:GetObject"],
            resources=[report_bucket.arn_for_objects("*")]))
        objects = f"{nag_ref(report_bucket, report_bucket.bucket_arn)}/*"
        acknowledge(_role(function), f"AwsSolutions-IAM5[Resource::{objects}]",
                    "The weekly reports are objects of the report bucket, named by week: only "
                    "PutObject and GetObject on the bucket's objects.")
        # The week's summary with the report's link goes to the alerts topic (publish only; its
        # key encrypts)
        function.add_environment("ALERTS_TOPIC_ARN", alerts.topic_arn)
        function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"],
                                                        resources=[alerts.topic_arn]))
        # exact actions (grant_publish would add kms:GenerateDataKey*): what SNS needs to encrypt
        # the message
        function.add_to_role_policy(iam.PolicyStatement(
            actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[alerts_key.key_arn]))

    @staticmethod
    def _archive_seals(function: lambda_.Function, bucket: s3.IBucket) -> None:
        """Put a seal with its retention under the seals prefix; no read, no delete, no bypass."""
        function.add_environment("SEAL_BUCKET", bucket.bucket_name)
        function.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:PutObject", "s3:PutObjectRetention"],
            resources=[bucket.arn_for_objects(f"{SEAL_PREFIX}*")]))
        objects = f"{nag_ref(bucket, bucket.bucket_arn)}/{SEAL_PREFIX}*"
        acknowledge(_role(function), f"AwsSolutions-IAM5[Resource::{objects}]",
                    "One seal object per week under the seals prefix: only PutObject and "
                    "PutObjectRetention there.")

    def _function(self, name: Function, storage: Storage, kill_switch: ssm.IStringParameter,
                  mode: str, secret_environment: dict[str, str],
                  reserved_concurrency: int | None) -> lambda_.Function:
        scope = Construct(self, name)
        log_group = logs.LogGroup(scope, "Logs", retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=RemovalPolicy.DESTROY)
        # An own role that may write to its own log group only, instead of
        # AWSLambdaBasicExecutionRole (logs:* on every log group in the account).
        role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        function = lambda_.Function(
            scope,
            "Function",
            # Each function's asset is its own handler.py; the code they share is in the layer.
            code=lambda_.Code.from_asset(str(REPO / "functions" / name),
                                         exclude=["__pycache__", "*.pyc"]),
            handler="handler.handler",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=[self.layer],
            memory_size=FUNCTION_SPECS[name].memory_mb,
            timeout=function_timeout(name),
            reserved_concurrent_executions=reserved_concurrency,
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "TABLE_NAME": storage.table.table_name,
                "IDEMPOTENCY_TABLE_NAME": storage.idempotency_table.table_name,
                "LLMTRADE_MODE": mode,
                "KILL_SWITCH_PARAMETER": kill_switch.parameter_name,
                "POWERTOOLS_SERVICE_NAME": "llmtrade",
                "POWERTOOLS_METRICS_NAMESPACE": "llmtrade",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # pydantic looks for plugins in every installed distribution's entry points at the
                # first model (a few ms of each cold start); this project uses none
                "PYDANTIC_DISABLE_PLUGINS": "__all__",
                **secret_environment,
            },
        )
        log_group.grant_write(role)
        # The event store (llmtrade.adapters.store.dynamodb) reads items and the account index and
        # appends with conditional puts: the history is append-only, so no update, delete or scan.
        role.add_to_policy(iam.PolicyStatement(
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                     "dynamodb:BatchGetItem"],
            resources=[storage.table.table_arn, storage.account_index_arn]))
        # Powertools idempotency records: read, create, complete, and delete one after a failed
        # call.
        role.add_to_policy(iam.PolicyStatement(
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                     "dynamodb:DeleteItem"],
            resources=[storage.idempotency_table.table_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["ssm:GetParameter"],
                                               resources=[kill_switch.parameter_arn]))
        Tags.of(function).add(FUNCTION_TAG, name)
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray's PutTraceSegments and PutTelemetryRecords accept only Resource '*' "
                    "(CDK-generated for Tracing.ACTIVE).")
        acknowledge(function, "AwsSolutions-L1",
                    f"Python {PYTHON_VERSION} on purpose: the layer's binary wheels are built for "
                    "its CPython; a newer runtime is a deliberate change of both (PYTHON_VERSION).")
        acknowledge(function, "Serverless-LambdaLatestVersion",
                    f"Python {PYTHON_VERSION} on purpose, as for AwsSolutions-L1.")
        acknowledge(function, "Serverless-LambdaDLQ",
                    "Invoked synchronously by Step Functions only: a failure fails the state "
                    "(alerted, redriven); there is no asynchronous event to park in a dead-letter "
                    "queue.")
        acknowledge(function, "Serverless-LambdaAsyncFailureDestination",
                    "Invoked synchronously by Step Functions only; no asynchronous invocation to "
                    "route.")
        return function


def _role(function: lambda_.Function) -> iam.IRole:
    """The execution role CDK created with the function (None only for an imported function)."""
    if function.role is None:
        raise ValueError(f"{function.node.path} has no execution role")
    return function.role
