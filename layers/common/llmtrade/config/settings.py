"""config/*.yaml -> validated Settings. Errors name the file and the field (SPEC §8)."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    model_validator,
)

from llmtrade.config.accounts import Account, AccountsConfig
from llmtrade.config.assets import AssetsConfig
from llmtrade.config.base import CONFIG_DIR_ENV, ConfigError, Section
from llmtrade.config.models import ModelsConfig, PMModel
from llmtrade.config.risk import RiskConfig
from llmtrade.config.schedule import ScheduleConfig
from llmtrade.schemas import AccountKind

FILES: dict[str, type[Section]] = {
    "assets": AssetsConfig,
    "schedule": ScheduleConfig,
    "models": ModelsConfig,
    "accounts": AccountsConfig,
    "risk": RiskConfig,
}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    assets: AssetsConfig
    schedule: ScheduleConfig
    models: ModelsConfig
    accounts: AccountsConfig
    risk: RiskConfig

    @model_validator(mode="after")
    def _cross_file(self) -> Settings:
        pm_ids = {pm.id for pm in self.models.pms}
        for account in self.accounts.accounts:
            if account.pm is not None and account.pm not in pm_ids:
                raise ValueError(f"accounts.yaml: account {account.id} names pm {account.pm!r}, "
                                 f"not in models.yaml pms {sorted(pm_ids)}")
        if untraded := sorted(pm_ids - {a.pm for a in self.accounts.accounts}):
            raise ValueError(f"accounts.yaml: pm {', '.join(untraded)} "
                             "of models.yaml has no account")
        return self

    @cached_property
    def account_by_id(self) -> dict[str, Account]:
        return {a.id: a for a in self.accounts.accounts}

    @cached_property
    def pm_by_id(self) -> dict[str, PMModel]:
        return {pm.id: pm for pm in self.models.pms}

    @property
    def pm_accounts(self) -> list[Account]:
        return [a for a in self.accounts.accounts if a.kind is AccountKind.PM]

    @property
    def council_account(self) -> Account:
        return next(a for a in self.accounts.accounts if a.kind is AccountKind.COUNCIL)

    @property
    def trading_accounts(self) -> list[Account]:
        return [a for a in self.accounts.accounts if a.kind is not AccountKind.FLAT]

    def model_of(self, account_id: str) -> str | None:
        account = self.account_by_id[account_id]
        if account.kind is AccountKind.PM:
            return self.pm_by_id[account.pm].openrouter_model  # type: ignore[index]
        if account.kind is AccountKind.COUNCIL:
            return self.models.chairman.openrouter_model
        return None


def default_config_dir() -> Path:
    """$LLMTRADE_CONFIG_DIR, else the repo's config/, else the layer's llmtrade/config_yaml/."""
    if env := os.environ.get(CONFIG_DIR_ENV):
        return Path(env)
    package = Path(__file__).resolve().parents[1]  # llmtrade/
    for candidate in (package.parents[2] / "config", package / "config_yaml"):
        if (candidate / "assets.yaml").is_file():
            return candidate
    raise ConfigError(f"no config directory found; set {CONFIG_DIR_ENV}")


def _field_path(loc: tuple[int | str, ...], document: object) -> str:
    """`assets[3].symbol (SPX)`-style path, with the entry's symbol/id when it has one."""
    parts: list[str] = []
    node = document
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = node.get("id") or node.get("symbol") if isinstance(node, dict) else None
            if name:
                parts[-1] += f"({name})"
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def _load_file(path: Path, model: type[Section]) -> Section:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(document or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_path(err['loc'], document)}: {re.sub(r'^Value error, ', '', err['msg'])}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def load_settings(config_dir: Path | None = None) -> Settings:
    directory = config_dir or default_config_dir()
    sections = {name: _load_file(directory / f"{name}.yaml", model)
                for name, model in FILES.items()}
    try:
        return Settings(**sections)
    except ValidationError as exc:
        raise ConfigError("; ".join(err["msg"].removeprefix("Value error, ")
                                    for err in exc.errors())) from exc
