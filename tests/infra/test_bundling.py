"""Synthesizes with the real, Docker-free layer bundling (pip for CPython 3.13 on aarch64): slow,
needs PyPI. With LLMTRADE_CDK_OUT naming the output of a `cdk synth` (as CI does), it checks that
cloud assembly instead of bundling the layer a second time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import cx_api

from infra.app import STACK_NAME, build_app
from infra.functions import LAYER_PRUNE, PIP_PLATFORM, PROVIDED_BY_RUNTIME, PYTHON_VERSION

pytestmark = pytest.mark.bundling

LAYER_LIMIT_BYTES = 250 * 1024 * 1024  # Lambda: function and layers together, unzipped


def index_reachable(download_dir: Path) -> bool:
    """pip, configured as it is, can fetch a small aarch64 wheel (skip rather than fail
    offline)."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               "--no-deps", *PIP_PLATFORM, "--dest", str(download_dir), "pyyaml"]
    try:
        return subprocess.run(command, capture_output=True, timeout=120,
                              check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def synthesized(tmp_path: Path) -> cx_api.CloudAssembly:
    """The cloud assembly `cdk synth` left in LLMTRADE_CDK_OUT, or a fresh synthesis."""
    if cdk_out := os.environ.get("LLMTRADE_CDK_OUT"):
        return cx_api.CloudAssembly(cdk_out)
    if not index_reachable(tmp_path / "probe"):
        pytest.skip("pip cannot reach a package index")
    return build_app(outdir=str(tmp_path / "cdk.out")).synth()


def test_layer_is_bundled_for_lambda_arm64(tmp_path: Path) -> None:
    assembly = synthesized(tmp_path)
    template = assembly.get_stack_by_name(STACK_NAME).template
    (content,) = (r["Properties"]["Content"] for r in template["Resources"].values()
                  if r["Type"] == "AWS::Lambda::LayerVersion")
    layer = Path(assembly.directory) / f"asset.{content['S3Key'].removesuffix('.zip')}"
    site = layer / "python"

    assert (site / "llmtrade" / "__init__.py").is_file()
    assert (site / "llmtrade" / "config_yaml" / "assets.yaml").is_file()
    assert (site / "llmtrade" / "data" / "nyse_holidays.yaml").is_file()
    # Built for the runtime's CPython and architecture (the Lambda would fail to import it
    # otherwise).
    abi = f"cpython-{PYTHON_VERSION.replace('.', '')}-aarch64"
    assert any(abi in so.name for so in (site / "pydantic_core").glob("*.so"))
    # exactly the locked releases, none of what the runtime provides
    installed = {d.name.split("-")[0].replace("_", "-").lower() for d in site.glob("*.dist-info")}
    assert {"pydantic", "aws-lambda-powertools", "pyyaml"} <= installed
    # what no function imports is pruned (infra.functions.LAYER_PRUNE)
    assert (site / "yaml" / "__init__.py").is_file() and not list((site / "yaml").glob("*.so"))
    assert (site / "aws_lambda_powertools" / "logging").is_dir()
    assert not (site / "aws_lambda_powertools" / "event_handler").exists()
    assert all(not list(site.glob(pattern)) for pattern in LAYER_PRUNE)
    assert not installed & PROVIDED_BY_RUNTIME
    assert not (site / "boto3").exists()
    assert not (site / "botocore").exists()
    assert not list(layer.rglob("__pycache__"))  # no bytecode: the same inputs make the same layer
    assert sum(f.stat().st_size for f in layer.rglob("*") if f.is_file()) < LAYER_LIMIT_BYTES

    # The bundled package finds its bundled config when no repository is around it (as in Lambda).
    # -S: no site processing, so the editable install of this checkout cannot shadow the bundled
    # copy.
    probe = (
        "import sys, sysconfig; sys.path[:0] = [sys.argv[1]]; "
        "sys.path.append(sysconfig.get_paths()['purelib'])\n"
        "from llmtrade.config import default_config_dir, load_settings\n"
        "load_settings(); print(default_config_dir())"
    )
    # the aarch64 wheels cannot load here
    shutil.copytree(site / "llmtrade", tmp_path / "only" / "llmtrade")
    found = subprocess.run([sys.executable, "-S", "-c", probe, str(tmp_path / "only")],
                           capture_output=True, text=True, check=True, cwd=tmp_path,
                           env={"PATH": "/usr/bin:/bin"}).stdout.strip()
    assert found == str(tmp_path / "only" / "llmtrade" / "config_yaml")
