"""config/*.yaml -> validated Settings. Errors name the file and the field (SPEC §8)."""

from __future__ import annotations

import contextlib
import os
import re
import types
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    model_validator,
)

from llmtrade.config import snapshot, yaml_twin
from llmtrade.config.accounts import Account, AccountsConfig
from llmtrade.config.assets import AssetsConfig
from llmtrade.config.base import CONFIG_DIR_ENV, MAX_NUMBER, ConfigError, Section
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
    # built at the first load, from its sections' validators built just before (built at import,
    # it would compile every section's schema once more)
    model_config = ConfigDict(frozen=True, defer_build=True)

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


def _types(annotation: Any) -> tuple[Any, ...]:
    """The types a field's annotation admits (`float | None` -> float, NoneType)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(t for arg in get_args(annotation) for t in _types(arg))
    return (annotation,)


def _section(annotation: Any) -> type[Section] | None:
    """The Section a field holds, itself or in a list."""
    for kind in _types(annotation):
        kind = get_args(kind)[0] if get_origin(kind) is list else kind
        if isinstance(kind, type) and issubclass(kind, Section):
            return kind
    return None


def _booleans_for_numbers(document: Any, model: type[Section], path: str = "") -> Iterator[str]:
    """`field: why` for each true/false where a number is due: pydantic would read true as 1."""
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        if (field := model.model_fields.get(str(key))) is None:
            continue
        if isinstance(value, bool) and {int, float} & set(_types(field.annotation)):
            yield f"{path}{key}: {str(value).lower()} is not a number"
        elif inner := _section(field.annotation):
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                index = f"[{i}]" if isinstance(value, list) else ""
                yield from _booleans_for_numbers(item, inner, f"{path}{key}{index}.")


def _beyond_sense(section: BaseModel, path: str = "") -> Iterator[str]:
    """`field: why` for each validated number past MAX_NUMBER (YAML reads `1e300` as a string,
    so this looks at what pydantic made of it)."""
    for name, value in section:
        for i, item in enumerate(value if isinstance(value, list | tuple) else [value]):
            where = f"{path}{name}" + (f"[{i}]" if isinstance(value, list | tuple) else "")
            if isinstance(item, BaseModel):
                yield from _beyond_sense(item, f"{where}.")
            elif (isinstance(item, int | float) and not isinstance(item, bool)
                  and abs(item) > MAX_NUMBER):
                yield f"{where}: {item:g} is beyond any sensible value (at most {MAX_NUMBER:g})"


def _read_text(path: Path) -> str:
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a YAML file")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        return yaml_twin.parse(text, path)
    except yaml.MarkedYAMLError as exc:
        at = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise ConfigError(f"{path}: not valid YAML: {exc.problem or exc.context}{at}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc


def _load_file(path: Path, text: str, model: type[Section]) -> Section:
    document = _parse_yaml(text, path)
    if document is not None and not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, found a "
                          f"{type(document).__name__}")
    if problems := list(_booleans_for_numbers(document, model)):
        raise ConfigError(f"{path}: {'; '.join(problems)}")
    try:
        section = model.model_validate(document or {})
    except ValidationError as exc:
        problems = [
            f"{_field_path(err['loc'], document)}: {re.sub(r'^Value error, ', '', err['msg'])}"
            for err in exc.errors()
        ]
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ConfigError(f"{path}: {'; '.join(problems[:5])}{more}") from exc
    if problems := list(_beyond_sense(section)):
        raise ConfigError(f"{path}: {'; '.join(problems)}")
    return section


def load_settings(config_dir: Path | None = None) -> Settings:
    directory = config_dir or default_config_dir()
    if not directory.is_dir():
        raise ConfigError(f"{directory}: " + ("is a file, not a config folder" if directory.exists()
                                              else "no such config folder"))
    paths = {name: directory / f"{name}.yaml" for name in FILES}
    with contextlib.suppress(ConfigError):  # a file that cannot be read is named below, in order
        kept = snapshot.read(directory, lambda: {name: _read_text(path)
                                                 for name, path in paths.items()})
        if isinstance(kept, Settings):
            return kept
    sections = {name: _load_file(path, _read_text(path), FILES[name])
                for name, path in paths.items()}
    try:
        return Settings(**sections)
    except ValidationError as exc:
        raise ConfigError("; ".join(err["msg"].removeprefix("Value error, ")
                                    for err in exc.errors())) from exc


def write_snapshot(config_dir: Path) -> Path:
    """Validates the folder's config and keeps the result beside it (config.snapshot: what the
    layer's bundler does, so that a cold start does not validate read-only files again)."""
    texts = {name: _read_text(config_dir / f"{name}.yaml") for name in FILES}
    return snapshot.write(config_dir, texts, load_settings(config_dir))
