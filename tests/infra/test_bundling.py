"""Synthesizes with the real, Docker-free layer bundling (pip for CPython 3.13 on aarch64, then
the bytecode of a local CPython 3.13): slow, needs PyPI. With LLMTRADE_CDK_OUT naming the output of
a `cdk synth` (as CI does), it checks that cloud assembly instead of bundling the layer a second
time. Without a CPython 3.13 here the bundling ships no bytecode, and the bytecode tests skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import cx_api

from infra.app import STACK_NAME, build_app
from infra.functions import (
    LAYER_PRUNE,
    LAYER_SOURCELESS,
    PIP_PLATFORM,
    PROVIDED_BY_RUNTIME,
    PYTHON_VERSION,
)
from infra.layer_bytecode import (
    LAYER_PYTHON_VARIABLE,
    UNCHECKED_HASH_FLAGS,
    LayerPython,
    find_layer_python,
)

pytestmark = pytest.mark.bundling

LAYER_TARGET_BYTES = 15_000_000  # issue 15 (Lambda's own limit: 250 MiB with the functions)
# CPython 3.13's importlib.util.MAGIC_NUMBER (3571): fixed for every 3.13.x, the runtime's included
MAGIC_313 = (3571).to_bytes(2, "little") + b"\r\n"


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


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer's folder in the cloud assembly `cdk synth` left in LLMTRADE_CDK_OUT, or in a fresh
    synthesis."""
    if cdk_out := os.environ.get("LLMTRADE_CDK_OUT"):
        assembly = cx_api.CloudAssembly(cdk_out)
    else:
        tmp_path = tmp_path_factory.mktemp("synth")
        if not index_reachable(tmp_path / "probe"):
            pytest.skip("pip cannot reach a package index")
        assembly = build_app(outdir=str(tmp_path / "cdk.out")).synth()
    template = assembly.get_stack_by_name(STACK_NAME).template
    (content,) = (r["Properties"]["Content"] for r in template["Resources"].values()
                  if r["Type"] == "AWS::Lambda::LayerVersion")
    return Path(assembly.directory) / f"asset.{content['S3Key'].removesuffix('.zip')}"


def test_layer_is_bundled_for_lambda_arm64(layer: Path, tmp_path: Path) -> None:
    site = layer / "python"

    assert (site / "llmtrade" / "__init__.py").is_file()
    assert (site / "llmtrade" / "config_yaml" / "assets.yaml").is_file()
    assert (site / "llmtrade" / "data" / "nyse_holidays.yaml").is_file()
    # every YAML file has its JSON twin (llmtrade.config.yaml_twin), which the probe below reads
    yamls = list((site / "llmtrade").rglob("*.yaml"))
    assert len(yamls) >= 6 and all(p.with_name(p.name + ".json").is_file() for p in yamls)
    assert (site / "llmtrade" / "entrypoints" / "lambda_entry.py").is_file()
    assert not (site / "llmtrade" / "entrypoints" / "cli").exists()  # no function imports it
    # Built for the runtime's CPython and architecture (the Lambda would fail to import it
    # otherwise).
    abi = f"cpython-{PYTHON_VERSION.replace('.', '')}-aarch64"
    assert any(abi in so.name for so in (site / "pydantic_core").glob("*.so"))
    # exactly the locked releases, none of what the runtime provides
    installed = {d.name.split("-")[0].replace("_", "-").lower() for d in site.glob("*.dist-info")}
    assert {"pydantic", "aws-lambda-powertools", "pyyaml", "anyio"} <= installed  # licences stay
    # what no function imports is pruned (infra.functions.LAYER_PRUNE)
    assert (site / "yaml" / "__init__.py").is_file() and not list((site / "yaml").glob("*.so"))
    assert (site / "aws_lambda_powertools" / "logging").is_dir()
    assert not (site / "aws_lambda_powertools" / "event_handler").exists()
    assert all(not list(site.glob(pattern)) for pattern in LAYER_PRUNE)
    assert not installed & PROVIDED_BY_RUNTIME
    assert not (site / "boto3").exists()
    assert not (site / "botocore").exists()
    # the target, with the bytecode (bench/bench_assets.py prints the figure)
    assert sum(f.stat().st_size for f in layer.rglob("*") if f.is_file()) < LAYER_TARGET_BYTES

    # The bundled package finds its bundled config when no repository is around it (as in Lambda),
    # and reads what the bundler made from its read-only files (infra.functions.stage_package).
    # -S: no site processing, so the editable install of this checkout cannot shadow the bundled
    # copy.
    probe = (
        "import sys, sysconfig; sys.path[:0] = [sys.argv[1]]; "
        "sys.path.append(sysconfig.get_paths()['purelib'])\n"
        "import yaml; yaml.load = None  # the twins, not PyYAML, hold what a cold start reads\n"
        "from datetime import date\n"
        "from llmtrade.config import default_config_dir, load_settings, settings\n"
        "settings._load_file = None  # the validated snapshot, not the files, is what it reads\n"
        "from llmtrade.domain.calendar import nyse_hours\n"
        "load_settings(); assert nyse_hours(date(2026, 11, 27)) is not None\n"
        "from jinja2 import ModuleLoader; from llmtrade import prompts  # compiled templates\n"
        "assert isinstance(prompts._environment().loader, ModuleLoader)\n"
        "print(default_config_dir())"
    )
    # the aarch64 wheels cannot load here
    shutil.copytree(site / "llmtrade", tmp_path / "only" / "llmtrade")
    found = subprocess.run([sys.executable, "-S", "-c", probe, str(tmp_path / "only")],
                           capture_output=True, text=True, check=True, cwd=tmp_path,
                           env={"PATH": "/usr/bin:/bin"}).stdout.strip()
    assert found == str(tmp_path / "only" / "llmtrade" / "config_yaml")


@pytest.fixture(scope="module")
def layer_python() -> LayerPython:
    """The CPython 3.13 the bundling compiled with: the same search (skip if there is none)."""
    if (python := find_layer_python(PYTHON_VERSION)) is None:
        pytest.skip(f"no CPython {PYTHON_VERSION} here: the layer was bundled without bytecode "
                    f"(set {LAYER_PYTHON_VARIABLE})")
    return python


def test_every_module_of_the_layer_has_the_runtimes_bytecode(layer: Path,
                                                             layer_python: LayerPython) -> None:
    site = layer / "python"
    assert layer_python.magic == MAGIC_313.hex()
    modules = [p for p in site.rglob("*.py") if "__pycache__" not in p.parts]
    modules += [p for p in site.rglob("*.pyc") if "__pycache__" not in p.parts]
    assert len(modules) > 300
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    for module in modules:
        top = module.relative_to(site).parts[0].removesuffix(module.suffix)
        if top in LAYER_SOURCELESS:  # bytecode in place of the source
            assert module.suffix == ".pyc", module
            bytecode = module
        else:  # bytecode beside the source, for tracebacks with code lines
            assert module.suffix == ".py", module
            bytecode = module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc"
        header = bytecode.read_bytes()[:8]
        # magic number, then flags: hash-based, never checked against the source (PEP 552)
        assert header[:4] == MAGIC_313, bytecode
        assert int.from_bytes(header[4:], "little") == UNCHECKED_HASH_FLAGS, bytecode


# Imports pure-Python packages of the layer under CPython 3.13 with nothing else on sys.path (no
# pydantic: its core is an aarch64 binary) and lists every module compiled from source: none, if
# the runtime accepts the layer's bytecode. httpx without anyio (pruned) is part of the check, and
# a prompt template compiled by the bundler, imported as Jinja's ModuleLoader does.
IMPORT_FROM_BYTECODE = """
import sys, importlib._bootstrap_external as external
sys.path[:0] = [sys.argv[1]]
compiled = []
def _from_source(self, data, path, **kwargs):
    compiled.append(path)
    return _to_code(self, data, path, **kwargs)
_to_code, external.SourceLoader.source_to_code = external.SourceLoader.source_to_code, _from_source
import httpx, jinja2, yaml, idna, h11, typing_extensions, markupsafe
assert "anyio" not in sys.modules and httpx.Client
compiled_templates = jinja2.ModuleLoader(sys.argv[1] + "/llmtrade/prompts/compiled")
jinja2.Environment(loader=compiled_templates).get_template("system.j2")  # prompts.compile_into
print(len([m for m in sys.modules.values() if sys.argv[1] in (getattr(m, "__file__", "") or "")]),
      compiled)
"""


def test_the_runtimes_python_imports_the_layer_from_its_bytecode(
        layer: Path, layer_python: LayerPython) -> None:
    done = subprocess.run([layer_python.executable, "-I", "-S", "-c", IMPORT_FROM_BYTECODE,
                           str(layer / "python")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded, compiled = done.stdout.split(maxsplit=1)
    assert int(loaded) > 50 and compiled.strip() == "[]"
