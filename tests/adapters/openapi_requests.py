"""Every recorded request checked against the official OpenAPI descriptions (../shared/specs) with
openapi-core: path and method known, parameters and JSON body valid, formats (date-time) included.
Tests that use it skip when the specs folder is absent (a fresh clone has no ../shared)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"
SPEC_BY_HOST = {"paper-api.alpaca.markets": "alpaca-trading-api.json",
                "data.alpaca.markets": "alpaca-market-data-api.json",
                "openrouter.ai": "openrouter-openapi.yaml"}


class _Request:
    """openapi-core's request protocol over a recorded httpx request."""

    def __init__(self, request: httpx.Request) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = request.method.lower()
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "application/json")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())))


@cache
def _openapi(spec: str) -> Any:
    from openapi_core import Config, OpenAPI

    # the specs as published, not re-validated: OpenRouter's 3.1 description keeps a few 3.0-style
    # keywords (`exclusiveMinimum: true`) a spec validator refuses, which says nothing of requests
    return OpenAPI.from_file_path(str(SPECS / spec), config=Config(spec_validator_cls=None))


def violations(requests: Iterable[httpx.Request]) -> list[str]:
    """One line per request the specs refuse ("METHOD path: why"), each distinct problem once."""
    from openapi_core.exceptions import OpenAPIError

    if not SPECS.is_dir():
        pytest.skip(f"{SPECS} is absent: the spec validation needs the official specs")
    found: dict[str, None] = {}
    for request in requests:
        spec = SPEC_BY_HOST.get(request.url.host)
        if spec is None:
            continue
        try:
            _openapi(spec).validate_request(_Request(request))
        except OpenAPIError as exc:  # one error type per kind of violation
            detail = "; ".join([str(exc), *([str(exc.__cause__)] if exc.__cause__ else [])])[:600]
            found[f"{request.method} {request.url.path}: {detail}"] = None
    return list(found)
