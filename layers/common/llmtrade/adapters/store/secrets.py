"""Where keys come from: environment variables and a .env file locally, Secrets Manager in AWS.

AWS holds two secrets, because an IAM grant is per secret and the checkpoint function must not be
able to read the research providers' keys: LLM_SECRET (OpenRouter, Perplexity, Gemini) for research
and council, BROKER_SECRET (every Alpaca key pair) for execute and checkpoint.
`llmtrade secrets put` fills both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from llmtrade.config import Settings
from llmtrade.environment import on_default_session
from llmtrade.ports import MissingSecrets, Secrets
from llmtrade.providers import RESEARCH_KINDS

LLM_SECRET, BROKER_SECRET = "llmtrade/llm-keys", "llmtrade/broker-keys"
# the council's models; research calls OpenRouter too (see wiring)
OPENROUTER_KEY = "OPENROUTER_API_KEY"


def required_keys(settings: Settings,
                  needs: Collection[str] = ("llm", "research", "broker")) -> list[str]:
    """The keys a real (not offline) run needs, by name: all of them, or those of the given needs
    (llm: the council's models; research: OpenRouter and the keys of the configured providers'
    kinds, llmtrade.providers; broker: Alpaca)."""
    keys = [OPENROUTER_KEY] if {"llm", "research"} & set(needs) else []
    if "research" in needs:
        configured = {p.kind for p in settings.models.research_providers}
        for kind, row in RESEARCH_KINDS.items():
            if kind in configured:
                keys += [name for name in row.keys if name not in keys]
    if "broker" in needs:
        for account in settings.trading_accounts:
            keys += [f"{account.key_env}_KEY_ID", f"{account.key_env}_SECRET_KEY"]
    return keys


class MissingKeys(MissingSecrets):
    """Names the missing keys and where they were looked for, never a value."""

    def __init__(self, names: Collection[str], source: str) -> None:
        super().__init__(names)
        self.source = source
        self.args = (f"missing keys: {', '.join(self.names)} (in {source})",)


class EnvSecrets:
    """os.environ first, then a .env file parsed by python-dotenv (`export`, quotes, comments).

    Never logged."""

    source = "the environment or .env"

    def __init__(self, dotenv: Path | None = Path(".env")) -> None:
        self._file: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            from dotenv import dotenv_values

            self._file = {name: value for name, value in dotenv_values(dotenv).items() if value}

    def get(self, name: str) -> str | None:
        return os.environ.get(name) or self._file.get(name) or None


class SecretsManagerSecrets:
    """One Secrets Manager secret holding a JSON object of keys (cached by Powertools)."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id
        self.source = f"the secret {secret_id}; set it with `llmtrade secrets put`"

    def get(self, name: str) -> str | None:
        from aws_lambda_powertools.utilities import parameters

        on_default_session("secrets")
        values = parameters.get_secret(self._secret_id, transform="json", max_age=300) or {}
        value = values.get(name) if isinstance(values, dict) else None
        return str(value) if value else None


def missing(secrets: Secrets, names: list[str]) -> list[str]:
    return [name for name in names if not secrets.get(name)]


# --------------------------------------------------------------------------- filling the secrets
def secret_values(settings: Settings,
                  values: Mapping[str, str | None]) -> dict[str, dict[str, str]]:
    """The two secrets' JSON objects from the keys in `values` (a .env): every key the config
    needs, in the secret of the functions that use it, and nothing else. Refuses, naming them, when
    keys are missing."""
    wanted = {LLM_SECRET: required_keys(settings, {"llm", "research"}),
              BROKER_SECRET: required_keys(settings, {"broker"})}
    if absent := [name for names in wanted.values() for name in names if not values.get(name)]:
        raise MissingKeys(absent, "the .env file")
    return {secret: {name: str(values[name]) for name in names} for secret, names in wanted.items()}


def put_secrets(client: Any, secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Create each secret, or put a new version of it when it exists (CDK creates them empty);
    returns secret name -> "created" | "updated"."""
    done = {}
    for name, value in secrets.items():
        text = json.dumps(dict(value), sort_keys=True)
        try:
            client.put_secret_value(SecretId=name, SecretString=text)
            done[name] = "updated"
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=name, SecretString=text,
                                 Description="llmtrade keys (written by `llmtrade secrets put`)")
            done[name] = "created"
    return done
