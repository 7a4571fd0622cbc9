"""config/*.yaml -> validated settings: one module per file (assets, schedule, models, accounts,
risk) and their loading (settings). Errors name the file and the field (SPEC §8)."""

from llmtrade.config.accounts import Account, AccountsConfig, BrokerConfig, is_paper_endpoint
from llmtrade.config.assets import Asset, AssetsConfig
from llmtrade.config.base import CONFIG_DIR_ENV, WEEKDAYS, ConfigError, Section, Weekday
from llmtrade.config.models import (
    Budget,
    ChairmanModel,
    ModelsConfig,
    PMModel,
    ResearchProviderConfig,
    ResearchTiming,
)
from llmtrade.config.risk import CheckpointRules, RiskConfig
from llmtrade.config.schedule import Checkpoints, ScheduleConfig, WeeklyRun
from llmtrade.config.settings import Settings, default_config_dir, load_settings

__all__ = [
    "CONFIG_DIR_ENV",
    "WEEKDAYS",
    "Account",
    "AccountsConfig",
    "Asset",
    "AssetsConfig",
    "BrokerConfig",
    "Budget",
    "ChairmanModel",
    "CheckpointRules",
    "Checkpoints",
    "ConfigError",
    "ModelsConfig",
    "PMModel",
    "ResearchProviderConfig",
    "ResearchTiming",
    "RiskConfig",
    "ScheduleConfig",
    "Section",
    "Settings",
    "Weekday",
    "WeeklyRun",
    "default_config_dir",
    "is_paper_endpoint",
    "load_settings",
]
