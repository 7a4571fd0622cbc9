"""Where keys come from: environment variables and a .env file locally, Secrets Manager in AWS."""

from __future__ import annotations

import os
from pathlib import Path

from llmtrade.config import Settings
from llmtrade.ports import Secrets


def required_keys(settings: Settings) -> list[str]:
    """Every key a real (not offline) run needs, by name."""
    keys = ["OPENROUTER_API_KEY"]
    kinds = {p.kind for p in settings.models.research_providers}
    keys += [name for kind, name in (("perplexity", "PERPLEXITY_API_KEY"), ("gemini_deep_research", "GEMINI_API_KEY"))
             if kind in kinds]
    for account in settings.trading_accounts:
        keys += [f"{account.key_env}_KEY_ID", f"{account.key_env}_SECRET_KEY"]
    return keys


class EnvSecrets:
    """os.environ first, then a .env file parsed by python-dotenv (`export`, quotes, comments; never logged)."""

    def __init__(self, dotenv: Path | None = Path(".env")) -> None:
        self._file: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            from dotenv import dotenv_values

            self._file = {name: value for name, value in dotenv_values(dotenv).items() if value}

    def get(self, name: str) -> str | None:
        return os.environ.get(name) or self._file.get(name) or None


class SecretsManagerSecrets:
    """One Secrets Manager secret holding a JSON object of every key (cached by Powertools)."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id

    def get(self, name: str) -> str | None:
        from aws_lambda_powertools.utilities import parameters

        values = parameters.get_secret(self._secret_id, transform="json", max_age=300) or {}
        value = values.get(name) if isinstance(values, dict) else None
        return str(value) if value else None


def missing(secrets: Secrets, names: list[str]) -> list[str]:
    return [name for name in names if not secrets.get(name)]
