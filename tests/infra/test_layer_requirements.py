"""The Lambda layer installs the runtime dependencies only: the command line's packages (the `cli`
extra) stay out of it, and nothing the functions import needs them; every package it locks is one
the functions import, and what it prunes (infra.functions.LAYER_PRUNE) is not."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib

from packaging.requirements import Requirement

from infra import REPO
from infra.functions import LAYER_LOCK, LAYER_PRUNE, _layer_files, runtime_requirements
from tests.conftest import AS_IN_THE_LAYER
from tests.infra.test_lock_files import pins

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


def test_the_layer_leaves_out_the_command_line() -> None:
    targets = [target for _, target in _layer_files()]
    assert "python/llmtrade/entrypoints/lambda_entry.py" in targets
    assert not [t for t in targets if t.startswith("python/llmtrade/entrypoints/cli")]


# Every module any non-CLI file of the package or a handler imports, at any depth (lazy imports
# too), imported with the layer's pruned parts missing; prints the distributions they loaded.
FUNCTIONS_IMPORT_SET = """
import ast, importlib, importlib.metadata, json, pathlib, sys
for name in {pruned!r}:
    sys.modules[name] = None  # as in the layer
package = pathlib.Path({package!r})
sources = [p for p in package.rglob("*.py") if "cli" not in p.relative_to(package).parts[:2]]
sources += pathlib.Path({functions!r}).glob("*/handler.py")
names = set()
for source in sources:
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {{alias.name for alias in node.names}}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {{node.module}} | {{f"{{node.module}}.{{a.name}}" for a in node.names}}
for name in sorted(names):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as missing:  # `from x import function` names no module
        if missing.name != name:
            raise
providers = importlib.metadata.packages_distributions()
tops = {{m.split(".")[0] for m in list(sys.modules)}}
print(json.dumps(sorted({{d for top in tops for d in providers.get(top, [])}})))
"""


def pruned_modules() -> list[str]:
    """`yaml/_yaml.*.so` -> yaml._yaml; `aws_lambda_powertools/event_handler` -> its package;
    `pydantic/mypy.py` -> pydantic.mypy."""
    return [pattern.split(".")[0].replace("/", ".") for pattern in LAYER_PRUNE]


def test_the_layer_holds_only_what_the_functions_import() -> None:
    code = FUNCTIONS_IMPORT_SET.format(pruned=pruned_modules(),
                                       package=str(REPO / "layers" / "common" / "llmtrade"),
                                       functions=str(REPO / "functions"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          check=False)
    assert done.returncode == 0, done.stderr
    imported = {_name(d) for d in json.loads(done.stdout.strip().splitlines()[-1])}
    assert imported >= {"pydantic", "aws-lambda-powertools", "httpx", "pyyaml", "jinja2"}
    # a package locked for the layer that no function imports, nor a package they import needs
    # (httpx imports httpcore only when a client is made), is dead weight: drop it from
    # [project].dependencies, or move it to an extra
    assert set(pins(LAYER_LOCK)) - _with_requirements(imported) == set()


def _with_requirements(distributions: set[str]) -> set[str]:
    """The distributions and, transitively, what they require (not what their extras add)."""
    found, todo = set(), list(distributions)
    while todo:
        if (name := todo.pop()) in found:
            continue
        found.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_name(requirement.name))
    return found


# Each provider adapter's real HTTP path (httpx, httpcore and what they import lazily when a
# request goes out), against a local server, with the layer's pruned parts missing: an import the
# import-set test above cannot see (httpcore imports its async backend, and so anyio, only when an
# async request is sent) fails here.
PROVIDERS_OVER_HTTP = """
import json, sys, threading
for name in {pruned!r}:
    sys.modules[name] = None  # as in the layer
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from tests.adapters.alpaca_examples import ACCOUNT
from tests.adapters.openrouter_examples import completion

class Provider(BaseHTTPRequestHandler):
    def _answer(self):
        body = {{"/api/chat/completions": completion(), "/v2/account": ACCOUNT}}.get(
            self.path, {{"ok": True}})
        if self.headers.get("content-length"):
            self.rfile.read(int(self.headers["content-length"]))
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = _answer
    def log_message(self, *args): pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{{server.server_port}}"
from llmtrade.adapters.broker.alpaca import AlpacaBroker
from llmtrade.adapters.llm.openrouter import OpenRouterLLM
from llmtrade.adapters.research.client import RetryingClient
from llmtrade.ports import ChatMessage, LLMRequest
answer = OpenRouterLLM("sk-or-v1-layer-probe-0000", base_url=base + "/api").complete(LLMRequest(
    model="openai/gpt-5.1", messages=[ChatMessage(role="user", content="?")],
    schema_name="Probe", json_schema={{"type": "object"}}))
account = AlpacaBroker(base, {{"pm-gpt": ("key-id-0001", "secret-0001")}}).account("pm-gpt")
research, _ = RetryingClient(provider="probe", key_name="K", secret="secret-0001", base_url=base,
                             headers={{}}, timeout_s=5, max_attempts=1,
                             backoff_s=0).request("GET", "/status")
print(json.dumps([bool(answer.content), str(account.equity), research]))
"""


def test_every_provider_adapter_talks_http_without_the_pruned_parts() -> None:
    code = PROVIDERS_OVER_HTTP.format(pruned=pruned_modules())
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    answered, equity, research = json.loads(done.stdout.strip().splitlines()[-1])
    assert answered and equity and research == {"ok": True}


def test_the_state_machines_run_the_handlers_without_the_pruned_parts() -> None:
    """The weekly and checkpoint state machines in moto, every function's handler run for real,
    with what the layer prunes missing (tests/conftest.py, LLMTRADE_AS_IN_THE_LAYER)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not bundling",
         "tests/workflow/test_state_machine_moto.py", "-k",
         "weekly_state_machine or checkpoint_state_machine or publishes_its_report"],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=600,
        env={**os.environ, AS_IN_THE_LAYER: "1"})
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 passed" in done.stdout
