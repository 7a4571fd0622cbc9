"""A Lambda cold start without garbage collection. In a Lambda execution environment (the runtime
sets AWS_LAMBDA_FUNCTION_NAME), importing this module turns the collector off (each function's
handler imports it first) and `resume()` turns it back on after the first invocation. Elsewhere
(the CLI, tests) nothing changes.

What a cold start allocates (modules, classes, validators, clients, settings) lives as long as the
execution environment, so the collector's passes over it find nothing to free: 35-55 ms of CPU in
a cold start of about 380 ms (bench/bench_cold_start.py prints it). `resume()` first moves
everything alive to the permanent generation (`gc.freeze`), which later collections skip. The
price: a reference cycle dropped during the cold start is never freed (kilobytes, once).
"""

from __future__ import annotations

import gc
import os

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    gc.disable()


def resume() -> None:
    """The collector back on, with what the cold start made set aside; nothing when it is on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
