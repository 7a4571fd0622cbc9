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
