"""Figures, not tests: the offline week's wall time, and the Lambda cold-import overhead our code
adds.

For each handler: (cold import of the handler) / (cold import of the third-party packages it pulls
in, alone). 1.0 would mean our own modules cost nothing on a cold start. Every figure is the median
of several fresh interpreter processes. Run: python bench/bench_cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYER = REPO / "layers" / "common"
FUNCTIONS = ("research", "council", "execute", "checkpoint")

# Runs in a fresh interpreter: import the handler, report the time and the third-party packages
# loaded.
IMPORT_HANDLER = """
import json, sys, time
sys.path[:0] = [{function!r}, {layer!r}]
before = set(sys.modules)
start = time.perf_counter()
import handler
elapsed = time.perf_counter() - start
ours = ("handler", "llmtrade")
third = sorted({{m.split(".")[0] for m in set(sys.modules) - before}}
               - set(sys.stdlib_module_names) - set(ours))
# real packages only (not pseudo-modules such as cython_runtime)
third = [m for m in third
         if not m.startswith("_") and getattr(sys.modules.get(m), "__spec__", None)]
print(json.dumps({{"seconds": elapsed, "third_party": third}}))
"""

IMPORT_PACKAGES = """
import importlib, json, time
start = time.perf_counter()
for name in {packages!r}:
    importlib.import_module(name)
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""


def fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def offline_week_seconds(runs: int) -> float:
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as data:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "llmtrade.entrypoints.cli", "run-week",
                            "--offline", "--week", "2026-11-25",
                            "--data-dir", data], check=True, capture_output=True, cwd=REPO)
            times.append(time.perf_counter() - start)
        print(f"  offline week run {i + 1}/{runs}: {times[-1]:.2f} s", file=sys.stderr)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print(f"offline week (fresh process, CLI end to end), median of {args.runs}: "
          f"{offline_week_seconds(args.runs):.2f} s")
    print(f"{'handler':<12} {'handler import':>15} {'3rd-party alone':>16} {'ratio':>7}  "
          "third-party packages")
    for function in FUNCTIONS:
        code = IMPORT_HANDLER.format(function=str(REPO / "functions" / function), layer=str(LAYER))
        handler_runs = [fresh(code) for _ in range(args.runs)]
        packages = handler_runs[0]["third_party"]
        deps = statistics.median(fresh(IMPORT_PACKAGES.format(packages=packages))["seconds"]
                                 for _ in range(args.runs))
        ours = statistics.median(r["seconds"] for r in handler_runs)
        print(f"{function:<12} {ours * 1000:>12.1f} ms {deps * 1000:>13.1f} ms "
              f"{ours / deps:>7.2f}  {', '.join(packages)}")


if __name__ == "__main__":
    main()
