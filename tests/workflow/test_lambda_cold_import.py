"""What a function's cold start imports: no X-Ray SDK (Lambda and Step Functions trace the run
themselves; the logs carry the trace id and the execution as correlation id), no report rendering
and no adapter until a step needs it (bench/bench_cold_start.py measures the cost)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

IMPORT_HANDLER = """
import json, sys
sys.path[:0] = [{function_dir!r}, {layer!r}]
sys.modules["aws_xray_sdk"] = None  # not in the layer
import handler
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("function", ["research", "council", "execute", "checkpoint"])
def test_a_handler_imports_no_tracing_sdk_and_no_adapter(function: str) -> None:
    code = IMPORT_HANDLER.format(function_dir=str(REPO / "functions" / function),
                                 layer=str(REPO / "layers" / "common"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "handler" in loaded and "llmtrade.entrypoints.lambda_entry" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("jinja2", "httpx", "boto3")]
    assert not [m for m in loaded if m.startswith(("llmtrade.reports", "llmtrade.adapters",
                                                   "llmtrade.steps"))]


COLLECTOR = """
import gc, json, sys
sys.path[:0] = [{function_dir!r}, {layer!r}]
import handler
paused = not gc.isenabled()

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "llmtrade-research", 512, "test"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:llmtrade-research"

try:
    handler.handler({{"action": "no_such_step", "execution": "test"}}, Context())
except Exception as failed:
    raised = type(failed).__name__
print(json.dumps([paused, raised, gc.isenabled(), gc.get_freeze_count() > 0]))
"""


@pytest.mark.parametrize("in_lambda", [True, False])
def test_a_cold_start_runs_without_the_collector_until_its_first_invocation_ends(
        in_lambda: bool) -> None:
    environment = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                   "TABLE_NAME": "events", "IDEMPOTENCY_TABLE_NAME": "idempotency",
                   "LLMTRADE_MODE": "offline", "KILL_SWITCH_PARAMETER": "/llmtrade/kill-switch",
                   "POWERTOOLS_SERVICE_NAME": "llmtrade",
                   "POWERTOOLS_METRICS_NAMESPACE": "llmtrade",
                   "LLM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm"}
    if in_lambda:  # the runtime sets it
        environment["AWS_LAMBDA_FUNCTION_NAME"] = "llmtrade-research"
    code = COLLECTOR.format(function_dir=str(REPO / "functions" / "research"),
                            layer=str(REPO / "layers" / "common"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env=environment, check=True)
    paused, raised, enabled, frozen = json.loads(done.stdout.strip().splitlines()[-1])
    # a failing first invocation ends the pause too; outside Lambda nothing changes
    assert raised == "UnknownAction" and enabled
    assert (paused, frozen) == ((True, True) if in_lambda else (False, False))
