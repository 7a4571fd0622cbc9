"""Figures, not tests: what the provider clients' TLS setup costs a live function.

httpx builds an `ssl.SSLContext` for each client it makes (certifi's CA bundle parsed each time);
the adapters share one (llmtrade.adapters.http_tls). In a fresh interpreter per run (httpx already
imported, as the floor of a cold start has it), the CPU time of making N clients each way: N = 3
is a live research function (Perplexity, Gemini, then OpenRouter's client for its call), 5 a
council step that asks OpenRouter five times (OpenRouter opens a client per call).
Run: python bench/bench_tls.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[1] / "layers" / "common"

CLIENTS = """
import json, sys, time
sys.path.insert(0, {layer!r})
import httpx
from llmtrade.adapters.http_tls import tls_context
start = time.process_time()
for _ in range({clients}):
    httpx.Client(**({{"verify": tls_context()}} if {shared} else {{}})).close()
print(json.dumps(time.process_time() - start))
"""


def cpu_ms(clients: int, shared: bool) -> float:
    code = CLIENTS.format(layer=str(LAYER), clients=clients, shared=shared)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return float(json.loads(done.stdout)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'clients':>7} {'own contexts':>13} {'one shared':>11} {'saved':>8}  (CPU, median of "
          f"{args.runs} fresh processes)")
    for clients in (1, 3, 5):
        own = statistics.median(cpu_ms(clients, False) for _ in range(args.runs))
        shared = statistics.median(cpu_ms(clients, True) for _ in range(args.runs))
        print(f"{clients:>7} {own:>10.1f} ms {shared:>8.1f} ms {own - shared:>5.1f} ms")


if __name__ == "__main__":
    main()
