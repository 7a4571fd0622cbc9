"""A local AWS endpoint for the benchmarks: moto's backends behind a plain HTTP server, so a fresh
process reaches it over HTTP with AWS_ENDPOINT_URL, as a Lambda reaches AWS: boto3's real client
stack, and no mock imported into the process being timed (moto's own server needs Flask, which the
dev tools do not install).

GET /__served__ answers how many requests moto served and the seconds it took (the benchmark
subtracts them: they stand for AWS's own latency, not the caller's cold start).
POST /openrouter/chat/completions answers as OpenRouter does (the spec's ChatResult), with a valid
pitch from the model asked, for the live cold starts (counted and timed the same way).
The service and region come from the request's SigV4 credential scope; the request is rebuilt on
the service's AWS host and answered by moto's request dispatcher (one request at a time: moto's
backends are not thread-safe).
Run: python bench/local_aws.py PORT_FILE   (writes the port it listens on, serves until killed)
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from moto.core.models import botocore_stubber

SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request")
MOTO = threading.Lock()
SERVED = {"requests": 0, "seconds": 0.0}  # what moto took: AWS's time, not the caller's


class LocalAWS(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    # headers and body go out in two writes: with Nagle's algorithm against the client's delayed
    # ACK, every answer would wait ~40 ms
    disable_nagle_algorithm = True

    def _answer(self) -> None:
        if self.path == "/__served__":
            self._reply(200, {}, json.dumps(SERVED).encode())
            return
        started = time.perf_counter()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/openrouter/"):
            answer = json.dumps(_completion(json.loads(body)["model"])).encode()
            with MOTO:
                SERVED["requests"] += 1
                SERVED["seconds"] += time.perf_counter() - started
            self._reply(200, {"Content-Type": "application/json"}, answer)
            return
        scope = SCOPE.search(self.headers.get("Authorization", ""))
        region, service = scope.groups() if scope else ("us-east-1", "s3")
        host = f"{service}.{region}.amazonaws.com"
        headers = HTTPHeaders()
        for key, value in self.headers.items():
            headers[key] = host if key.lower() == "host" else value
        request = AWSPreparedRequest(self.command, f"https://{host}{self.path}", headers, body,
                                     stream_output=False)
        with MOTO:
            answer = botocore_stubber.process_request(request)
            SERVED["requests"] += 1
            SERVED["seconds"] += time.perf_counter() - started
        status, answer_headers, answer_body = answer or (404, {}, b"no local service")
        payload = answer_body.encode() if isinstance(answer_body, str) else answer_body or b""
        self._reply(int(status), answer_headers, payload)

    def _reply(self, status: int, answer_headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in answer_headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        return None


PITCH = {"instrument": "SPY", "direction": "LONG", "horizon": "1w",
         "thesis_bullets": ["breadth is improving"],
         "indicators": [{"name": "SPY holds", "measure": "week_return_pct", "instrument": "SPY",
                         "comparison": ">", "threshold": 0.5, "role": "confirms"}],
         "invalidation": "SPY loses 2% on the week", "conviction": 1}


def _completion(model: str) -> dict[str, object]:
    return {"id": "gen-bench", "provider": "OpenAI", "model": model, "object": "chat.completion",
            "created": 1764080000,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": json.dumps(PITCH), "refusal": None}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 340, "total_tokens": 1540,
                      "cost": 0.004915}}


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LocalAWS)
    server.daemon_threads = True
    Path(sys.argv[1]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
