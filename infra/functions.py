"""The common layer (bundled locally with pip, no Docker) and the four Lambda functions."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from llmtrade.workflow import FUNCTIONS, WORKFLOWS

from infra import CONFIG_DIR, REPO, acknowledge, nag_ref

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# Wheels for the Lambda platform, whatever machine synthesizes: this is what makes Docker unnecessary.
PIP_PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp",
                "--python-version", "3.12", "--only-binary=:all:")
PROVIDED_BY_RUNTIME = {"boto3", "botocore"}  # the Python Lambda runtime ships them
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
    """(source, path inside the layer) for the package and config/*.yaml, sorted, without caches."""
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path, f"python/llmtrade/{path.relative_to(PACKAGE_DIR).as_posix()}"
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        yield path, f"python/llmtrade/config_yaml/{path.name}"


def layer_hash() -> str:
    """Hash of what goes into the layer, so the asset neither fingerprints the whole repository (.venv,
    cdk.out, .git) nor runs pip on every synth: a change of code, config or requirements re-bundles."""
    digest = hashlib.sha256(json.dumps([runtime_requirements(), PIP_PLATFORM]).encode())
    for source, target in _layer_files():
        digest.update(target.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LayerBundler:
    """Builds the layer on this machine: pip for the Lambda platform, then the package and config."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        site = Path(output_dir) / "python"
        print(f"llmtrade: bundling the common layer with pip ({PIP_PLATFORM[1]})", file=sys.stderr)
        # --no-compile: .pyc files embed timestamps and would make every build differ.
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-compile", *PIP_PLATFORM, "--target", str(site), *runtime_requirements()]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Returning False would fall back to Docker, which this project does not use.
            raise RuntimeError(f"pip could not build the llmtrade layer:\n{result.stderr or result.stdout}")
        for source, target in _layer_files():
            destination = Path(output_dir) / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
        return True


def function_timeout(function: str) -> Duration:
    """The longest task the function serves in any workflow plus slack (cold start, invoke overhead), so
    the state's timeout is the one that decides; capped at Lambda's 15 minutes."""
    served = [t.timeout_seconds for w in WORKFLOWS.values() for t in w.tasks() if t.function == function]
    longest = max(served, default=0)
    return Duration.seconds(min(longest + 30, 900))


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, table: dynamodb.ITable,
                 secret: secretsmanager.ISecret, mode: str) -> None:
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
                bundling=BundlingOptions(image=DockerImage.from_registry("unused"), local=LayerBundler()),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="llmtrade package, its dependencies and config/*.yaml",
        )
        self.by_name: dict[str, lambda_.Function] = {
            name: self._function(name, table, secret, mode) for name in FUNCTIONS
        }

    def _function(self, name: str, table: dynamodb.ITable, secret: secretsmanager.ISecret,
                  mode: str) -> lambda_.Function:
        scope = Construct(self, name)
        log_group = logs.LogGroup(scope, "Logs", retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=RemovalPolicy.DESTROY)
        # An own role that may write to its own log group only, instead of AWSLambdaBasicExecutionRole
        # (logs:* on every log group in the account).
        role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        function = lambda_.Function(
            scope,
            "Function",
            code=lambda_.Code.from_asset(str(REPO / "functions" / name), exclude=["__pycache__", "*.pyc"]),
            handler="handler.handler",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            layers=[self.layer],
            memory_size=512,
            timeout=function_timeout(name),
            role=role,
            log_group=log_group,
            environment={
                "TABLE_NAME": table.table_name,
                "SECRET_ARN": secret.secret_arn,
                "LLMTRADE_MODE": mode,
                "POWERTOOLS_SERVICE_NAME": "llmtrade",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        log_group.grant_write(role)
        table.grant_read_write_data(role)
        secret.grant_read(role)
        Tags.of(function).add(FUNCTION_TAG, name)
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{nag_ref(table, table.table_arn)}/index/*]",
                    "Read/write on the event table's indexes (by_account); CDK grants them as index/*.")
        acknowledge(function, "AwsSolutions-L1",
                    "Python 3.12 on purpose: the layer's binary wheels are built for cp312; a newer "
                    "runtime is a deliberate change of both (PIP_PLATFORM).")
        return function

