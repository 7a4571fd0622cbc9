"""Figures, not tests: the offline week's wall time, and what a Lambda cold start costs beyond the
packages it uses.

For each function, in a fresh interpreter set up as a Lambda with active tracing (LAMBDA_TASK_ROOT,
a sampled _X_AMZN_TRACE_ID), offline mode, the package laid out as the layer holds it
(infra.functions.stage_package: its YAML twins included) and compiled: import the handler, then
invoke the first step it runs in its workflow (research open_week, council pitch, execute
settle_previous_week, checkpoint open_checkpoint), against moto behind a local HTTP endpoint
(bench/local_aws.py) reached through boto3's real client stack. What the first call imports or
builds counts: moving work from the import to the first call gains nothing. The time moto itself
takes to answer (it stands for AWS's latency, not the function's) is subtracted and printed apart
with the number of requests.

The floor, in another fresh interpreter: import exactly the third-party modules the handler's
process had loaded by the end of that first call (X-Ray, botocore and whatever a call imports
lazily included), then create the same boto3 clients (a client's first creation loads its service
model: ~0.1 s for DynamoDB, a dependency's cost). Ratio = (import + first call) / floor, paired
run by run (median of the runs); 1.0 would mean our own code costs nothing at a cold start. The
ratio against the bare import alone is printed too, and the ratio of the processes' CPU time (the
local AWS runs in another process): steadier than wall time on a machine other work shares; and
`fastest`, the ratio of the fastest cold start to the fastest floor (CPU): other work on the machine
only ever adds time to a process, so the fastest of several runs is the steadiest estimate.
A function's cold start runs without garbage collection (llmtrade.entrypoints.cold_start; the
process is given AWS_LAMBDA_FUNCTION_NAME, as in Lambda), which the bare import does not: the last
ratio is against a floor that skips the collector too (CPU), our own code's share alone. Issue 15's
target (1.2) is read against the floor as the runtime imports it, collector on: running a cold start
without it is this package's own doing, and saves its dependencies' collections as much as ours.
--live: research and council in live mode, against local fakes of the providers (local_aws.py).
--no-bytecode compiles what the layer ships and our code from source, as a Lambda does when the
layer was bundled without a CPython 3.13 to compile it (see NO_LAYER_BYTECODE).
--python: the interpreter of the cold starts and floors (CI gives a venv of the runtime's 3.13).
Run: python bench/bench_cold_start.py [--runs N] [--skip-week] [--no-bytecode] [--live] [--python P]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = ("research", "council", "execute", "checkpoint")
TABLE, IDEMPOTENCY, KILL_SWITCH = "bench-events", "bench-idempotency", "/bench/kill-switch"
REPORTS, SEALS = "bench-reports", "bench-seals"
ALERTS = "arn:aws:sns:us-east-1:123456789012:bench-alerts"
FIRST_MONDAY = date(2026, 1, 5)  # weeks from here on, one per run and use: every run starts clean

CONTEXT = """
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "llmtrade-bench", 512, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:llmtrade-bench"
    def get_remaining_time_in_millis(self): return 300_000
"""

# A fresh interpreter: the handler's import and its first invocation, timed; then (untimed) the
# third-party modules loaded and the boto3 clients alive.
COLD_START = """
import time
start, cpu = time.perf_counter(), time.process_time()
{bytecode}
import gc, json, sys
sys.path[:0] = [{function_dir!r}, {layer!r}]
before = set(sys.modules)
import handler
imported = time.perf_counter()

{context}
result = handler.handler({event!r}, Context())
called, cpu = time.perf_counter(), time.process_time() - cpu
ours = ("handler", "llmtrade")
third = [m for m, module in list(sys.modules.items()) if m not in before and module is not None
         and m.split(".")[0] not in set(sys.stdlib_module_names) | set(ours)
         and not m.startswith("_") and getattr(module, "__spec__", None)]
from botocore.client import BaseClient
gc.unfreeze()  # untimed: what a cold start froze (llmtrade.entrypoints.cold_start) is listed too
objects = gc.get_objects()
clients = sorted({{o.meta.service_model.service_name for o in objects
                   if isinstance(o, BaseClient)}})
httpx = sys.modules.get("httpx")
web = sum(isinstance(o, (httpx.Client, httpx.AsyncClient)) for o in objects) if httpx else 0
print("BENCH " + json.dumps({{"import": imported - start, "call": called - imported, "cpu": cpu,
                              "third_party": third, "clients": clients, "web": web,
                              "result": result}}))
"""

# The floor: the same third-party modules, in the order they were loaded, and the same clients.
FLOOR = """
import time
start, cpu = time.perf_counter(), time.process_time()
{bytecode}
{collector}
import importlib, json
failed = 0
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception:
        failed += 1
imported = time.perf_counter()
import boto3
for service in {clients!r}:
    boto3.client(service)
if {web}:  # an HTTPS client's first TLS context: certifi's bundle parsed, a dependency's cost
    import httpx
    httpx.Client()
clients = time.perf_counter() - imported
print("BENCH " + json.dumps({{"import": imported - start, "clients": clients,
                              "cpu": time.process_time() - cpu, "failed": failed}}))
"""

# --no-bytecode: what the layer ships comes without .pyc, as when the synth found no CPython 3.13
# to compile it (infra/layer_bytecode.py; /opt is read-only, so a cold start then compiles every
# module of it from source); what the runtime provides (infra.functions.PROVIDED_BY_RUNTIME;
# assumed compiled) and the standard library keep theirs. Our own code (under the repository) is
# compiled too.
NO_LAYER_BYTECODE = """
import sys, importlib._bootstrap_external as external
sys.dont_write_bytecode = True
_cached = external.cache_from_source
def _layer_has_no_bytecode(path, *args, **kwargs):
    if "site-packages/" in path:
        top = path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        if top not in {runtime!r}:
            raise NotImplementedError
    elif path.startswith({layer!r}):
        raise NotImplementedError
    return _cached(path, *args, **kwargs)
external.cache_from_source = _layer_has_no_bytecode
"""
# import names of infra.functions.PROVIDED_BY_RUNTIME (not imported here: infra loads the CDK)
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")

# Untimed: the weeks the council's and execute's first steps run in (opened, research done).
PREPARE = """
import json, sys, importlib.util
sys.path[:0] = [{layer!r}]
def handler(function):
    path = {repo!r} + f"/functions/{{function}}/handler.py"
    spec = importlib.util.spec_from_file_location(function, path)
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module.handler
{context}
research = handler("research")
runs = []
for week_id in {weeks!r}:
    name = "prepare-" + week_id
    opening = {{"action": "open_week", "input": {{"week_id": week_id}}, "execution": name}}
    run = research(opening, Context())
    for action in ("research_start", "research_check"):
        research({{"action": action, "run": run, "execution": name}}, Context())
    runs.append(run)
print("BENCH " + json.dumps(runs))
"""


def fresh(code: str, env: dict[str, str], python: str = sys.executable) -> Any:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"a benchmark process failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("BENCH "))


@contextmanager
def local_aws() -> Iterator[str]:
    """moto behind http://127.0.0.1:PORT, with the tables, kill switch, buckets and topic."""
    with tempfile.TemporaryDirectory() as scratch:
        port_file = Path(scratch) / "port"
        server = subprocess.Popen([sys.executable, str(REPO / "bench" / "local_aws.py"),
                                   str(port_file)])
        try:
            for _ in range(600):
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            endpoint = f"http://127.0.0.1:{port_file.read_text()}"
            _create_resources(endpoint)
            yield endpoint
        finally:
            server.terminate()
            server.wait()


def _create_resources(endpoint: str) -> None:
    import boto3

    aws = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                region_name="us-east-1")
    dynamodb = aws.client("dynamodb", endpoint_url=endpoint)
    keys = [("pk", "HASH"), ("sk", "RANGE")]
    index = [("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys + index],
        GlobalSecondaryIndexes=[{"IndexName": "by_account", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": k, "KeyType": t}
                                               for k, t in index]}])
    dynamodb.create_table(TableName=IDEMPOTENCY, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    aws.client("ssm", endpoint_url=endpoint).put_parameter(Name=KILL_SWITCH, Value="enabled",
                                                           Type="String")
    for bucket in (REPORTS, SEALS):
        aws.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    aws.client("sns", endpoint_url=endpoint).create_topic(Name=ALERTS.rsplit(":", 1)[-1])


def lambda_environment(endpoint: str, function: str) -> dict[str, str]:
    """What a function's process sees in Lambda (infra/functions.py), pointed at the local AWS."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # Tracing.ACTIVE: the runtime's variables (segments go by UDP to no daemon here)
        "LAMBDA_TASK_ROOT": str(REPO / "functions" / function),
        "AWS_LAMBDA_FUNCTION_NAME": f"llmtrade-{function}",
        "_X_AMZN_TRACE_ID": "Root=1-6a1b2c3d-0123456789abcdef01234567;Parent=0123456789abcdef;"
                            "Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "TABLE_NAME": TABLE, "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY, "LLMTRADE_MODE": "offline",
        "KILL_SWITCH_PARAMETER": KILL_SWITCH, "POWERTOOLS_SERVICE_NAME": "llmtrade",
        "POWERTOOLS_METRICS_NAMESPACE": "llmtrade", "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        "LLM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm",
        "BROKER_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:broker",
    } | ({"REPORT_BUCKET": REPORTS, "SEAL_BUCKET": SEALS, "ALERTS_TOPIC_ARN": ALERTS}
         if function == "execute" else {})


def served(endpoint: str) -> dict[str, float]:
    """How many requests the local AWS has answered so far, and the seconds it took."""
    with urllib.request.urlopen(f"{endpoint}/__served__") as answer:
        return dict(json.loads(answer.read()))


def week_ids(first: int, count: int) -> list[str]:
    return [(FIRST_MONDAY + timedelta(weeks=first + i, days=2)).isoformat() for i in range(count)]


def first_events(runs: int, prepared: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per function, one event per run of the first step it serves in its workflow."""
    council, execute = prepared[:runs], prepared[runs:]
    return {
        "research": [{"action": "open_week", "input": {"week_id": w}, "execution": f"bench-{w}"}
                     for w in week_ids(2 * runs, runs)],
        "council": [{"action": "pitch", "run": r, "item": r["pm_accounts"][0],
                     "execution": f"prepare-{r['week_id']}"} for r in council],
        "execute": [{"action": "settle_previous_week", "run": r,
                     "execution": f"prepare-{r['week_id']}"} for r in execute],
        "checkpoint": [{"action": "open_checkpoint",
                        "input": {"at": f"{w}T15:00:00+00:00"}, "execution": f"bench-cp-{w}"}
                       for w in week_ids(3 * runs, runs)],
    }


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


@contextmanager
def shipped_package(python: str) -> Iterator[Path]:
    """The package and config as the layer holds them (infra.functions.stage_package: no CLI,
    config/*.yaml as config_yaml/, what the bundler makes beside them), compiled by `python`."""
    sys.path.insert(0, str(REPO))
    from infra.functions import stage_package  # loads the CDK: ~1 s, in this process only

    with tempfile.TemporaryDirectory() as scratch:
        stage_package(Path(scratch))
        subprocess.run([python, "-m", "compileall", "-q", str(Path(scratch) / "python")],
                       check=True, stdout=subprocess.DEVNULL)
        yield Path(scratch) / "python"


@contextmanager
def live_setup(endpoint: str, layer: Path) -> Iterator[dict[str, str]]:
    """Live mode against local fakes: the model keys in a Secrets Manager secret, the layer's
    config with OpenRouter, Perplexity and Gemini at the local endpoint (Alpaca's URL must be its
    paper host, so execute and checkpoint stay out of --live), its YAML twins rewritten."""
    import boto3
    import yaml
    from llmtrade.config import yaml_twin

    keys = {"OPENROUTER_API_KEY": "sk-or-bench-key", "PERPLEXITY_API_KEY": "pplx-bench-key",
            "GEMINI_API_KEY": "gemini-bench-key"}
    arn = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench").create_secret(
        Name=f"bench-llm-{time.time_ns()}", SecretString=json.dumps(keys))["ARN"]
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config"
        shutil.copytree(layer / "llmtrade" / "config_yaml", config)
        models = config / "models.yaml"
        document = yaml.safe_load(models.read_text())
        document["endpoints"] = {name: f"{endpoint}/{name}"
                                 for name in ("openrouter", "perplexity", "gemini")}
        document["endpoints"]["allow_insecure_loopback"] = True
        models.write_text(yaml.safe_dump(document, sort_keys=False))
        for path in config.glob("*.yaml"):
            yaml_twin.write_twin(path)
        yield {"LLMTRADE_MODE": "live", "LLM_SECRET_ARN": arn, "LLMTRADE_CONFIG_DIR": str(config)}


def cold_starts(endpoint: str, runs: int, layer: Path, python: str, no_bytecode: bool = False,
                live: dict[str, str] | None = None) -> None:
    prepared = fresh(PREPARE.format(layer=str(layer), repo=str(REPO), context=CONTEXT,
                                    weeks=week_ids(0, 2 * runs)),
                     lambda_environment(endpoint, "research"), python)
    events = first_events(runs, prepared)
    if live:  # a live run is forward-only: open weeks to come
        today = date.today()
        wednesday = today + timedelta(days=(2 - today.weekday()) % 7)
        events["research"] = [
            {"action": "open_week", "input": {"week_id": w}, "execution": f"bench-live-{w}"}
            for w in ((wednesday + timedelta(weeks=1 + i)).isoformat() for i in range(runs))]
    bytecode = (NO_LAYER_BYTECODE.format(runtime=RUNTIME_PROVIDED, layer=str(layer))
                if no_bytecode else "")
    functions = ("research", "council") if live else FUNCTIONS
    figures: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {f: [] for f in functions}
    for run in range(runs):  # interleaved: every function and its floor once per round
        for function in functions:
            env = lambda_environment(endpoint, function) | (live or {})
            before = served(endpoint)
            cold = fresh(COLD_START.format(function_dir=str(REPO / "functions" / function),
                                           context=CONTEXT, bytecode=bytecode,
                                           layer=str(layer), event=events[function][run]),
                         env, python)
            after = served(endpoint)
            cold["aws"] = after["seconds"] - before["seconds"]
            cold["requests"] = after["requests"] - before["requests"]
            cold["call"] -= cold["aws"]
            floors = [fresh(FLOOR.format(modules=cold["third_party"], clients=cold["clients"],
                                         web=cold["web"], bytecode=bytecode, collector=collector),
                            env, python) for collector in ("", "import gc; gc.disable()")]
            cold["floor_without_gc"] = floors[1]["cpu"]
            figures[function].append((cold, floors[0]))
        print(f"  cold-start round {run + 1}/{runs}", file=sys.stderr)
    print(f"{'function':<11} {'import':>8} {'1st call':>9} {'total':>8} {'floor':>8} "
          f"{'ratio':>6} {'bare import':>12} {'ratio':>6} {'CPU':>6} {'floor':>6} {'ratio':>6} "
          f"{'fastest':>7} "
          f"{'no-GC floor':>11} {'ratio':>6} {'AWS (moto)':>16}  modules clients")
    for function, pairs in figures.items():
        def median(values: Iterator[float]) -> float:
            return statistics.median(list(values))

        total = median(c["import"] + c["call"] for c, _ in pairs)
        floor = median(f["import"] + f["clients"] for _, f in pairs)
        bare = median(f["import"] for _, f in pairs)
        ratio = median((c["import"] + c["call"]) / (f["import"] + f["clients"]) for c, f in pairs)
        bare_ratio = median((c["import"] + c["call"]) / f["import"] for c, f in pairs)
        cpu_ratio = median(c["cpu"] / f["cpu"] for c, f in pairs)
        # the fastest of each: other work on the machine only ever adds CPU time to a process
        fastest_ratio = min(c["cpu"] for c, _ in pairs) / min(f["cpu"] for _, f in pairs)
        no_gc_ratio = median(c["cpu"] / c["floor_without_gc"] for c, _ in pairs)
        cold, last_floor = pairs[-1]
        print(f"{function:<11} {median(c['import'] for c, _ in pairs) * 1e3:>5.0f} ms "
              f"{median(c['call'] for c, _ in pairs) * 1e3:>6.0f} ms {total * 1e3:>5.0f} ms "
              f"{floor * 1e3:>5.0f} ms {ratio:>6.2f} {bare * 1e3:>9.0f} ms {bare_ratio:>6.2f} "
              f"{median(c['cpu'] for c, _ in pairs) * 1e3:>6.0f} "
              f"{median(f['cpu'] for _, f in pairs) * 1e3:>6.0f} {cpu_ratio:>6.2f} "
              f"{fastest_ratio:>7.2f} "
              f"{median(c['floor_without_gc'] for c, _ in pairs) * 1e3:>8.0f} ms "
              f"{no_gc_ratio:>6.2f} {cold['requests']:>3} req "
              f"{median(c['aws'] for c, _ in pairs) * 1e3:>5.0f} ms  "
              f"{len(cold['third_party'])} ({last_floor['failed']} not importable alone) "
              f"{','.join(cold['clients'])}")
    tops = sorted({m.split(".")[0] for pairs in figures.values() for c, _ in pairs
                   for m in c["third_party"]})
    print(f"third-party packages loaded: {', '.join(tops)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-week", action="store_true", help="cold starts only")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="the layer's packages and our code without .pyc, as in the Lambda")
    parser.add_argument("--live", action="store_true",
                        help="research and council in live mode, against local fake providers")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the cold starts and their floors, e.g. a venv's "
                             "CPython 3.13 (the Lambda runtime's) with requirements/dev.txt")
    args = parser.parse_args()
    if not args.skip_week:
        print(f"offline week (fresh process, CLI end to end), median of {args.runs}: "
              f"{offline_week_seconds(args.runs):.2f} s")
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"cold starts and floors under CPython {version} ({args.python})")
    with local_aws() as endpoint, shipped_package(args.python) as layer:
        if args.live:
            with live_setup(endpoint, layer) as live:
                cold_starts(endpoint, args.runs, layer, args.python, args.no_bytecode, live)
        else:
            cold_starts(endpoint, args.runs, layer, args.python, args.no_bytecode)


if __name__ == "__main__":
    main()
