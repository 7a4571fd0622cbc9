"""One TLS context for every provider client in a process.

httpx builds a new `ssl.SSLContext` for each client it makes, and building one parses certifi's CA
bundle: about 25 ms of CPU each time (`bench/bench_tls.py`). A live Lambda makes several clients
(Alpaca; Perplexity and Gemini; OpenRouter, which opens a client per call), so every client shares
this one, built on first use with httpx's own defaults (certifi, or $SSL_CERT_FILE / $SSL_CERT_DIR).
An `SSLContext` may serve any number of connections and threads.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
