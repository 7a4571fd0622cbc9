"""config/*.yaml → validated settings. Errors name the file and the field (SPEC §8)."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llmtrade.providers import RESEARCH_KINDS, research_kind
from llmtrade.schemas import AccountKind

CONFIG_DIR_ENV = "LLMTRADE_CONFIG_DIR"
Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
WEEKDAYS: tuple[Weekday, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # date.weekday() order
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class ConfigError(ValueError):
    """A config file is missing, unreadable or invalid; the message names file and field."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------- assets.yaml
class Asset(Section):
    symbol: Annotated[str, Field(pattern=r"^[A-Z]{1,5}$")]
    name: str
    sleeve: Literal["risk_on_equity", "duration", "credit", "usd", "gold", "oil"]
    # the simulated market's expected return a year, in %; 0: neither longs nor shorts win by design
    drift_annual_pct: float = Field(default=0.0, ge=-50, le=50, allow_inf_nan=False)


class AssetsConfig(Section):
    assets: list[Asset] = Field(min_length=1)
    # names the simulated broker will not lend for a short (live, Alpaca's borrow_status decides)
    hard_to_borrow: tuple[str, ...] = ()

    @field_validator("assets")
    @classmethod
    def _unique(cls, assets: list[Asset]) -> list[Asset]:
        symbols = [a.symbol for a in assets]
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must be unique")
        return assets

    @model_validator(mode="after")
    def _borrow_list_in_universe(self) -> AssetsConfig:
        if unknown := sorted(set(self.hard_to_borrow) - set(self.symbols)):
            raise ValueError(f"hard_to_borrow names symbols not in the universe: {unknown}")
        return self

    @property
    def symbols(self) -> list[str]:
        return [a.symbol for a in self.assets]


# --------------------------------------------------------------------------- schedule.yaml
class WeeklyRun(Section):
    day: Weekday
    time: ClockTime


class Checkpoints(Section):
    days: list[Weekday] = Field(min_length=1)
    times: list[ClockTime] = Field(min_length=1)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[Weekday]) -> list[Weekday]:
        if weekend := [d for d in days if d in ("SAT", "SUN")]:
            raise ValueError(f"{', '.join(weekend)}: the market is closed on weekends")
        if len(set(days)) != len(days):
            raise ValueError("a day is listed twice")
        return days

    @field_validator("times")
    @classmethod
    def _in_session(cls, times: list[str]) -> list[str]:
        # a checkpoint acts on the market: before the 16:00 close (a pre-market one queues for the open)
        if outside := [t for t in times if not "04:00" <= t < "16:00"]:
            raise ValueError(f"{', '.join(outside)}: a checkpoint must be between 04:00 and the 16:00 close")
        if len(set(times)) != len(times):
            raise ValueError("a time is listed twice")
        return sorted(times)


class ScheduleConfig(Section):
    timezone: Literal["America/New_York"]
    weekly_run: WeeklyRun
    checkpoints: Checkpoints

    @field_validator("weekly_run")
    @classmethod
    def _wednesday(cls, run: WeeklyRun) -> WeeklyRun:
        if run.day != "WED":
            raise ValueError("week_id is the Wednesday of the run (SPEC §3): the weekly run must be on WED")
        return run

    # The one place the moments are computed: the steps, the CLI's replay and infra's schedules read them.
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def weekly_run_clock(self) -> time:
        return time.fromisoformat(self.weekly_run.time)

    @property
    def checkpoint_clocks(self) -> list[time]:
        return [time.fromisoformat(clock) for clock in self.checkpoints.times]

    def weekly_run_at(self, week: str | date) -> datetime:
        """The moment of a week's weekly run; `week` is its id (the Wednesday of the run, YYYY-MM-DD)."""
        day = date.fromisoformat(week) if isinstance(week, str) else week
        return datetime.combine(day, self.weekly_run_clock, tzinfo=self.zone)

    def checkpoint_moments(self, day: date) -> list[datetime]:
        """A day's scheduled checkpoints in order; none on a day without checkpoints (market holidays are
        the calendar's business: the checkpoint itself records a skip)."""
        if WEEKDAYS[day.weekday()] not in self.checkpoints.days:
            return []
        return [datetime.combine(day, clock, tzinfo=self.zone) for clock in self.checkpoint_clocks]


# --------------------------------------------------------------------------- models.yaml
class PMModel(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    name: str
    openrouter_model: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.:-]+$")]


OpenRouterSlug = Annotated[str, Field(pattern=r"^[\w.-]+/[\w.:-]+$")]


class ChairmanModel(Section):
    openrouter_model: OpenRouterSlug
    backup_openrouter_model: OpenRouterSlug | None = Field(
        default=None, description="asked when the chairman fails; if it fails too, the council is FLAT")


class ResearchProviderConfig(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    kind: Annotated[str, AfterValidator(research_kind)]  # a row of llmtrade.providers.RESEARCH_KINDS
    model: str | None = None
    agent: str | None = None
    fallback: bool = Field(default=False, description="runs only when no other provider produced a pack")

    @model_validator(mode="after")
    def _what_to_call(self) -> ResearchProviderConfig:
        row = RESEARCH_KINDS[self.kind]
        if not getattr(self, row.needs):
            hint = f" ({row.needs_hint})" if row.needs_hint else ""
            raise ValueError(f"a {self.kind} provider needs {row.needs}{hint}")
        return self


class ResearchTiming(Section):
    poll_seconds: int = Field(ge=1, le=600, description="wait between two checks of a long-running provider")
    # Gemini Deep Research runs up to ~60 min; past that it is stuck. The weekly run's own timeout
    # (llmtrade.workflow) leaves room for the deadline, one more poll and the council after it.
    deadline_minutes: int = Field(ge=1, le=60, description="a provider still running then has failed")


class Budget(Section):
    weekly_usd: float = Field(gt=0, description="LLM spend per week; a call that would pass it is refused")
    call_estimate_usd: float = Field(ge=0, description="expected cost of one LLM call, checked before it is made")


class ModelsConfig(Section):
    pms: list[PMModel] = Field(min_length=1)
    chairman: ChairmanModel
    quorum: int = Field(ge=1)
    repair_attempts: int = Field(ge=0, le=3)
    budget: Budget
    research: ResearchTiming
    research_providers: list[ResearchProviderConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ModelsConfig:
        if self.quorum > len(self.pms):
            raise ValueError(f"quorum {self.quorum} exceeds the {len(self.pms)} configured PMs")
        for field, ids in (("pms", [pm.id for pm in self.pms]),
                           ("research_providers", [p.id for p in self.research_providers])):
            if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
                raise ValueError(f"{field}: duplicate id {', '.join(duplicates)}")
        if all(p.fallback for p in self.research_providers):
            raise ValueError("research_providers: at least one provider must not be a fallback")
        return self


# --------------------------------------------------------------------------- accounts.yaml
class BrokerConfig(Section):
    base_url: str
    data_url: str
    allow_live: bool = False

    @model_validator(mode="after")
    def _paper_unless_opted_in(self) -> BrokerConfig:
        for field, url in (("base_url", self.base_url), ("data_url", self.data_url)):
            parsed = urlsplit(url)
            if parsed.scheme != "https" or not parsed.hostname:
                raise ValueError(f"{field} {url!r} must be an https URL")
        if not is_paper_endpoint(self.base_url) and not self.allow_live:
            raise ValueError(
                f"base_url {self.base_url} is not a paper endpoint (host {PAPER_HOST}); "
                "set allow_live: true to trade live"
            )
        return self


PAPER_HOST = "paper-api.alpaca.markets"


def is_paper_endpoint(url: str) -> bool:
    """The URL's host is Alpaca's paper host: a substring match would let `api.alpaca.markets/paper-api.x` pass."""
    return (urlsplit(url).hostname or "").lower() == PAPER_HOST


class Account(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    kind: AccountKind
    pm: str | None = None
    key_env: Annotated[str | None, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = None

    @model_validator(mode="after")
    def _shape(self) -> Account:
        if (self.kind is AccountKind.PM) != (self.pm is not None):
            raise ValueError("pm is required for a pm account and only there")
        if (self.kind is AccountKind.FLAT) == (self.key_env is not None):
            raise ValueError("key_env is required for a trading account; the flat account has none")
        return self


class AccountsConfig(Section):
    broker: BrokerConfig
    accounts: list[Account] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_council_one_flat(self) -> AccountsConfig:
        kinds = [a.kind for a in self.accounts]
        if kinds.count(AccountKind.COUNCIL) != 1 or kinds.count(AccountKind.FLAT) != 1:
            raise ValueError("exactly one council and one flat account are required")
        ids = [a.id for a in self.accounts]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"account ids must be unique: {', '.join(duplicates)}")
        pms = [a.pm for a in self.accounts if a.pm is not None]
        if shared := sorted({pm for pm in pms if pms.count(pm) > 1}):
            raise ValueError(f"pm {', '.join(shared)} trades more than one account: one account per PM")
        keys = [a.key_env for a in self.accounts if a.key_env is not None]
        if reused := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"key_env {', '.join(reused)} is used by more than one account")
        return self


# --------------------------------------------------------------------------- risk.yaml
class CheckpointRules(Section):
    stop_loss_pct: float = Field(gt=0, le=50)
    reduce_loss_pct: float = Field(gt=0, le=50)

    @model_validator(mode="after")
    def _reduce_before_stop(self) -> CheckpointRules:
        if self.reduce_loss_pct >= self.stop_loss_pct:
            raise ValueError("reduce_loss_pct must be below stop_loss_pct")
        return self


class RiskConfig(Section):
    starting_equity_usd: float = Field(gt=0)
    risk_budget_usd: float = Field(gt=0)
    min_equity_for_short_usd: float = Field(ge=0)
    checkpoint: CheckpointRules


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
            raise ValueError(f"accounts.yaml: pm {', '.join(untraded)} of models.yaml has no account")
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
    """$LLMTRADE_CONFIG_DIR, else the repository's config/, else the copy bundled in the layer
    (llmtrade/config_yaml/: not `config/`, which would sit beside this module under the same name)."""
    if env := os.environ.get(CONFIG_DIR_ENV):
        return Path(env)
    package = Path(__file__).resolve().parent
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
    sections = {name: _load_file(directory / f"{name}.yaml", model) for name, model in FILES.items()}
    try:
        return Settings(**sections)
    except ValidationError as exc:
        raise ConfigError("; ".join(err["msg"].removeprefix("Value error, ") for err in exc.errors())) from exc
