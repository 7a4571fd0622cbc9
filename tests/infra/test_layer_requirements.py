"""The Lambda layer installs the runtime dependencies only: the command line's packages (the `cli`
extra) stay out of it, and nothing the functions import needs them."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from infra import REPO
from infra.functions import runtime_requirements

# rich pulls in pygments and markdown-it
CLI_ONLY = {"rich", "pygments", "markdown-it-py", "python-dotenv"}
CLI_MODULES = ("rich", "pygments", "markdown_it", "dotenv")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0]).lower()


def test_the_layer_requirements_leave_out_the_cli_packages() -> None:
    layer = {_name(r) for r in runtime_requirements()}
    assert layer >= {"pydantic", "pyyaml", "jinja2", "aws-lambda-powertools", "httpx"}
    assert not layer & CLI_ONLY


def test_the_cli_extra_brings_them_and_dev_installs_it() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert {_name(r) for r in extras["cli"]} == {"rich", "python-dotenv"}
    assert "llmtrade[cli]" in extras["dev"]


IMPORT_WITHOUT_CLI_PACKAGES = """
import importlib, importlib.util, pkgutil, sys
for name in {blocked!r}:
    sys.modules[name] = None  # as in the layer, which does not install the cli extra
import llmtrade
for module in pkgutil.walk_packages(llmtrade.__path__, "llmtrade."):
    if not module.name.startswith("llmtrade.entrypoints.cli"):
        importlib.import_module(module.name)
for function in {functions!r}:
    path = {repo!r} + "/functions/" + function + "/handler.py"
    spec = importlib.util.spec_from_file_location("handler_" + function, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print("imported")
"""


def test_every_module_the_functions_can_load_imports_without_them() -> None:
    functions = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))
    assert len(functions) == 4
    code = IMPORT_WITHOUT_CLI_PACKAGES.format(blocked=CLI_MODULES, functions=functions,
                                              repo=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr
