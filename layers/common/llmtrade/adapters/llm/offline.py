"""An offline, deterministic LLM: answers any JSON-schema request with a valid, varied instance.

The answer is generated from the request's JSON schema with a random generator seeded by the
model and the messages, so the same request always gets the same answer, different PMs answer
differently, and every text says it is offline, as does the answering model (`offline:<model>`).
It has opinions (conviction is never 0) and keeps direction consistent with conviction, as a
careful model would.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from decimal import Decimal
from typing import Any

from llmtrade.ports import LLMRequest, LLMResponse

OFFLINE_PREFIX = "offline:"
WORDS = ("rates", "breadth", "momentum", "liquidity", "curve", "dollar", "credit", "spreads",
         "carry", "positioning", "earnings", "inflation", "growth", "volatility", "supply",
         "demand", "flows")


class OfflineLLM:
    def complete(self, request: LLMRequest) -> LLMResponse:
        started = time.perf_counter()
        seed = hashlib.sha256(
            json.dumps([request.model, request.schema_name,
                        [m.model_dump() for m in request.messages]]).encode()
        ).digest()
        generator = _Generator(random.Random(seed), request.json_schema)
        content = json.dumps(generator.value(request.json_schema, field="answer"))
        prompt_chars = sum(len(m.content) for m in request.messages)
        return LLMResponse(
            model=f"{OFFLINE_PREFIX}{request.model}", content=content,
            prompt_tokens=prompt_chars // 4, completion_tokens=len(content) // 4,
            cost_usd=Decimal(0),
            latency_ms=int((time.perf_counter() - started) * 1000), offline=True,
        )


class _Generator:
    def __init__(self, rng: random.Random, root: dict[str, Any]) -> None:
        self.rng, self.defs = rng, root.get("$defs", {})

    def value(self, schema: dict[str, Any], field: str) -> Any:
        if "$ref" in schema:
            return self.value(self.defs[schema["$ref"].rsplit("/", 1)[-1]], field)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"] or schema["anyOf"]
            return self.value(options[0], field)
        kind = schema.get("type", "string")
        if kind == "object":
            return self.obj(schema)
        if kind == "array":
            low, high = schema.get("minItems", 1), min(schema.get("maxItems", 3),
                                                       max(schema.get("minItems", 1), 3))
            items, count = schema.get("items", {}), self.rng.randint(low, high)
            # a choice among options (a ranking): each option once
            if count <= len(items.get("enum", [])):
                return self.rng.sample(items["enum"], count)
            return [self.value(items, field) for _ in range(count)]
        if kind == "integer":
            low, high = int(schema.get("minimum", 0)), int(schema.get("maximum", 10))
            if field == "conviction":  # an offline PM always has an opinion
                return self.rng.choice([v for v in range(low, high + 1) if v != 0] or [low])
            return self.rng.randint(low, high)
        if kind == "number":
            return round(self.rng.uniform(schema.get("minimum", -3.0),
                                          schema.get("maximum", 3.0)), 2)
        if kind == "boolean":
            return self.rng.random() < 0.5
        words = " ".join(self.rng.sample(WORDS, 3))
        text = f"[offline] {field.replace('_', ' ')}: {words}"
        return text[: schema.get("maxLength", len(text))]

    def obj(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = {name: self.value(sub, name)
                  for name, sub in schema.get("properties", {}).items()}
        # keep direction consistent with conviction, wherever the pair appears
        if "conviction" in result:
            sign = result["conviction"]
            direction = "LONG" if sign > 0 else "SHORT" if sign < 0 else "FLAT"
            if "direction" in result:
                result["direction"] = direction
            if isinstance(result.get("selected_trade"), dict):
                result["selected_trade"]["direction"] = direction
            trade = result.get("selected_trade")  # the chairman's: on the trade it selects
            instrument = trade.get("instrument") if isinstance(trade, dict) else None
            for indicator in result.get("indicators", []):
                self.sensible(indicator, result.get("instrument") or instrument, sign)
        return result

    def sensible(self, indicator: dict[str, Any], instrument: str | None, sign: int) -> None:
        """Indicators on the traded instrument's week return, as a careful PM would set them."""
        confirms = indicator.get("role") == "confirms"
        band = round(self.rng.uniform(0.3, 1.0) if confirms else self.rng.uniform(1.5, 3.0), 2)
        up = (sign > 0) == confirms
        indicator.update(measure="week_return_pct", comparison=">" if up else "<",
                         threshold=band if up else -band,
                         **({"instrument": instrument} if instrument else {}))
