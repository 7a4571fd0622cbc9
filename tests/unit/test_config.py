from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from llmtrade.config import ConfigError, Settings, load_settings

from tests.conftest import REPO


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config"


def test_shipped_config_holds_the_specs_defaults(settings: Settings) -> None:
    assert settings.assets.symbols == [
        "SPY", "QQQ", "IWM", "TLT", "IEF", "HYG", "LQD", "UUP", "GLD", "IAU", "USO", "BNO"]
    assert [a.id for a in settings.accounts.accounts] == [
        "pm-gpt", "pm-gemini", "pm-claude", "pm-grok", "council", "flat"]
    assert len(settings.models.pms) == 4 and settings.models.quorum == 3
    assert settings.schedule.timezone == "America/New_York"
    assert settings.schedule.weekly_run.time == "08:00"
    assert settings.schedule.checkpoints.times == ["09:00", "12:00", "14:00", "15:50"]
    assert ("paper-api" in settings.accounts.broker.base_url
            and not settings.accounts.broker.allow_live)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("assets.yaml", "symbol: SPY", "symbol: spy",
         r"assets\.yaml: assets\[0\]\(spy\)\.symbol: String should match"),
        ("models.yaml", "quorum: 3", "quorum: 9",
         r"models\.yaml: .*quorum 9 exceeds the 4 configured PMs"),
        ("schedule.yaml", 'time: "08:00"', 'time: "8am"',
         r"schedule\.yaml: weekly_run\.time: String should match"),
        ("accounts.yaml", "allow_live: false", "allow_live: nope",
         r"accounts\.yaml: broker\.allow_live: Input should"),
        ("accounts.yaml", "https://paper-api.alpaca.markets", "https://api.alpaca.markets",
         r"accounts\.yaml: broker: .*not a paper endpoint .*; set allow_live"),
        ("risk.yaml", "stop_loss_pct: 3.0", "stop_loss_pct: -1",
         r"risk\.yaml: checkpoint\.stop_loss_pct"),
        # a substring match would take these for paper: the host is what counts
        ("accounts.yaml", "https://paper-api.alpaca.markets",
         "https://api.alpaca.markets/paper-api.x",
         r"accounts\.yaml: broker: .*not a paper endpoint"),
        ("accounts.yaml", "https://paper-api.alpaca.markets",
         "https://paper-api.alpaca.markets.evil.example",
         r"accounts\.yaml: broker: .*not a paper endpoint"),
        ("accounts.yaml", "https://paper-api.alpaca.markets", "http://paper-api.alpaca.markets",
         r"accounts\.yaml: broker: .*must be an https URL"),
        ("models.yaml", "{id: grok, name: Grok 4", "{id: gpt, name: Grok 4",
         r"models\.yaml: .*pms: duplicate id gpt"),
        ("accounts.yaml", "pm: grok, key_env", "pm: gpt, key_env",
         r"accounts\.yaml: .*pm gpt trades more than one account"),
        ("accounts.yaml", "key_env: ALPACA_PM_GROK", "key_env: ALPACA_PM_GPT",
         r"accounts\.yaml: .*key_env ALPACA_PM_GPT is used by more than one account"),
        ("schedule.yaml", '"15:50"]', '"16:30"]',
         r"schedule\.yaml: checkpoints\.times: 16:30: .*16:00 close"),
        ("schedule.yaml", "days: [MON, TUE, WED, THU, FRI]", "days: [MON, SAT]",
         r"schedule\.yaml: checkpoints\.days: SAT: the market is closed on weekends"),
        ("models.yaml", "weekly_usd: 15.0", "weekly_usd: 0", r"models\.yaml: budget\.weekly_usd"),
        ("models.yaml", "kind: gemini_deep_research, agent: deep-research-preview-04-2026",
         "kind: gemini_deep_research",
         r"models\.yaml: research_providers\[1\]\(gemini-deep-research\): .*needs agent"),
        ("risk.yaml", "starting_equity_usd: 100000", "starting_equity_usd: 100000\nsurprise: 1",
         r"risk\.yaml: surprise: Extra inputs are not permitted"),
    ],
)
def test_a_bad_field_is_named_with_its_file(config_dir: Path, file: str, old: str, new: str,
                                            message: str) -> None:
    path = config_dir / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_settings(config_dir)


def test_unknown_pm_in_accounts_is_refused(config_dir: Path) -> None:
    path = config_dir / "accounts.yaml"
    path.write_text(path.read_text().replace("pm: grok", "pm: llama"))
    with pytest.raises(ConfigError, match="account pm-grok names pm 'llama'"):
        load_settings(config_dir)


def test_missing_file_and_broken_yaml_are_named(config_dir: Path) -> None:
    (config_dir / "risk.yaml").unlink()
    with pytest.raises(ConfigError, match=r"risk\.yaml: file not found"):
        load_settings(config_dir)
    (config_dir / "risk.yaml").write_text("a: [unclosed")
    with pytest.raises(ConfigError, match=r"risk\.yaml: not valid YAML"):
        load_settings(config_dir)


def test_a_pm_without_an_account_is_refused(config_dir: Path) -> None:
    path = config_dir / "accounts.yaml"
    path.write_text(path.read_text().replace(
        "  - {id: pm-grok, kind: pm, pm: grok, key_env: ALPACA_PM_GROK}\n", ""))
    with pytest.raises(ConfigError, match=r"pm grok of models\.yaml has no account"):
        load_settings(config_dir)


def test_a_dotenv_file_is_read_like_a_shell_would(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from llmtrade.adapters.store.secrets import EnvSecrets

    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    (tmp_path / ".env").write_text('# keys\nexport OPENROUTER_API_KEY="sk-or-1"  # a comment\n'
                                   "PERPLEXITY_API_KEY='pplx 2'\nGEMINI_API_KEY=\n")
    secrets = EnvSecrets(tmp_path / ".env")
    assert (secrets.get("OPENROUTER_API_KEY") == "sk-or-1"
            and secrets.get("PERPLEXITY_API_KEY") == "pplx 2")
    assert (secrets.get("GEMINI_API_KEY") is None
            and secrets.get("export OPENROUTER_API_KEY") is None)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("risk.yaml", "risk_budget_usd: 20000", "risk_budget_usd: .inf",
         r"risk\.yaml: risk_budget_usd: Input should be a finite number"),
        ("risk.yaml", "starting_equity_usd: 100000", "starting_equity_usd: .nan",
         r"risk\.yaml: starting_equity_usd: Input should be a finite number"),
        ("risk.yaml", "starting_equity_usd: 100000", "starting_equity_usd: true",
         r"risk\.yaml: starting_equity_usd: true is not a number"),
        ("risk.yaml", "stop_loss_pct: 3.0", "stop_loss_pct: false",
         r"risk\.yaml: checkpoint\.stop_loss_pct: false is not a number"),
        ("models.yaml", "repair_attempts: 1", "repair_attempts: true",
         r"models\.yaml: repair_attempts: true is not a number"),
        ("risk.yaml", "starting_equity_usd: 100000", "starting_equity_usd: 1e300",
         r"risk\.yaml: starting_equity_usd: 1e\+300 is beyond any sensible value"),
        ("risk.yaml", "min_equity_for_short_usd: 2000", "min_equity_for_short_usd: 2.0e13",
         r"risk\.yaml: min_equity_for_short_usd: 2e\+13 is beyond"),
        ("models.yaml", "quorum: 3", "quorum: 3\nquorum: 2",
         r"models\.yaml: not valid YAML: the key 'quorum' is given twice \(line \d+\)"),
    ],
)
def test_a_number_that_cannot_run_is_refused_at_load(config_dir: Path, file: str, old: str,
                                                     new: str, message: str) -> None:
    path = config_dir / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_settings(config_dir)


def test_an_assets_list_past_the_limit_is_refused(config_dir: Path) -> None:
    from llmtrade.config.assets import MAX_ASSETS

    symbols = [f"A{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(MAX_ASSETS + 1)]
    (config_dir / "assets.yaml").write_text("assets:\n" + "".join(
        f"  - {{symbol: {s}, name: x, sleeve: gold}}\n" for s in symbols))
    with pytest.raises(ConfigError, match=rf"assets\.yaml: assets: .*at most {MAX_ASSETS} items"):
        load_settings(config_dir)


def test_files_of_the_wrong_kind_are_named(config_dir: Path) -> None:
    risk = config_dir / "risk.yaml"
    risk.write_bytes(risk.read_bytes() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"risk\.yaml: not UTF-8 text"):
        load_settings(config_dir)
    risk.unlink()
    risk.mkdir()
    with pytest.raises(ConfigError, match=r"risk\.yaml: is a folder, not a YAML file"):
        load_settings(config_dir)
    (config_dir / "assets.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"assets\.yaml: expected a mapping"):
        load_settings(config_dir)
    with pytest.raises(ConfigError, match=r"models\.yaml: is a file, not a config folder"):
        load_settings(config_dir / "models.yaml")
    with pytest.raises(ConfigError, match="no such config folder"):
        load_settings(config_dir / "absent")


def test_the_price_table_is_dated_and_prices_every_configured_model(settings: Settings) -> None:
    from llmtrade.config.prices import load_prices

    prices = load_prices(REPO / "config")
    assert prices is not None and prices.as_of.year >= 2025
    models = {pm.openrouter_model for pm in settings.models.pms}
    assert all(prices.call_usd(m) for m in models)
    assert {p.id for p in settings.models.research_providers} == set(prices.research_per_call_usd)
