"""The `llmtrade` command, through its real entry point."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.cli import main

from tests.conftest import WEEK


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_week_prints_the_table_and_a_second_run_adds_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(capsys, "run-week", "--offline", "--week", WEEK, "--data-dir", data)
    assert code == 0
    assert f"Week {WEEK}, run at {WEEK} 08:00 ET (OFFLINE" in out
    for account in ("pm-gpt", "pm-gemini", "pm-claude", "pm-grok", "council", "flat"):
        assert f"\n{account} " in out
    assert "accepted" in out and "New events stored: 33." in out  # the seal included
    code, out, _ = run(capsys, "run-week", "--offline", "--week", WEEK, "--data-dir", data)
    assert code == 0 and "New events stored: 0." in out

    code, out, _ = run(capsys, "events", "--week", WEEK, "--data-dir", data, "--json")
    listed = json.loads(out)
    kinds = [e["kind"] for e in listed]
    assert (kinds.count("pitch") == 4 and kinds.count("peer_review") == 4
            and kinds.count("week_summary") == 1)
    code, out, _ = run(capsys, "events", "--week", WEEK, "--account", "flat", "--data-dir", data)
    assert "position_snapshot" in out and "pitch" not in out


def test_run_week_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run-week", "--offline", "--week", WEEK, "--data-dir", str(tmp_path),
                       "--json")
    document = json.loads(out)
    assert (code == 0 and document["new_events"] == 33
            and len(document["summary"]["accounts"]) == 6)


def test_checkpoint_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path)
    run(capsys, "run-week", "--offline", "--week", WEEK, "--data-dir", data)
    code, out, _ = run(capsys, "checkpoint", "--offline", "--at", f"{WEEK} 12:00",
                       "--data-dir", data)
    assert code == 0 and f"Checkpoint {WEEK} 12:00 ET, week {WEEK}" in out and "council" in out
    code, out, _ = run(capsys, "checkpoint", "--offline", "--at", "2026-11-26 12:00",
                       "--data-dir", data)
    assert code == 0 and "skipped: market closed on 2026-11-26" in out
    code, _, err = run(capsys, "checkpoint", "--offline", "--at", "noon", "--data-dir", data)
    assert code == 2 and '"YYYY-MM-DD HH:MM"' in err


def test_a_week_must_be_a_wednesday(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run-week", "--offline", "--week", "2026-11-24",
                         "--data-dir", str(tmp_path))
    assert code == 2 and "2026-11-24 is a Tuesday" in err and out == ""


def test_without_offline_and_keys_it_names_the_missing_keys(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-secret-value")
    code, out, err = run(capsys, "run-week", "--week", WEEK,
                         "--config-dir", str(Path(__file__).parents[2] / "config"))
    assert code == 2 and out == ""
    assert "PERPLEXITY_API_KEY" in err and "ALPACA_COUNCIL_SECRET_KEY" in err and "--offline" in err
    assert "OPENROUTER_API_KEY" not in err and "sk-or-secret-value" not in err
    assert not (tmp_path / ".llmtrade").exists()  # nothing was faked


def test_with_every_key_it_builds_the_real_clients_without_calling_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import respx
    from llmtrade.adapters.broker.alpaca import AlpacaBroker, AlpacaMarketData
    from llmtrade.adapters.llm.openrouter import OpenRouterLLM
    from llmtrade.adapters.research.gemini import GeminiDeepResearch
    from llmtrade.adapters.research.openrouter import OpenRouterResearch
    from llmtrade.adapters.research.perplexity import PerplexityResearch
    from llmtrade.adapters.store.secrets import required_keys
    from llmtrade.config import load_settings
    from llmtrade.entrypoints.cli import parser
    from llmtrade.entrypoints.cli.common import services_from

    monkeypatch.chdir(tmp_path)
    env_lines = [f"{name}=value-{i}" for i, name in enumerate(required_keys(load_settings()))]
    (tmp_path / ".env").write_text("# keys\n" + "\n".join(env_lines))
    args = parser().parse_args(["run-week", "--week", WEEK, "--data-dir", str(tmp_path / "data"),
                                "--config-dir", str(Path(__file__).parents[2] / "config")])
    with respx.mock(assert_all_called=False) as network:  # building the clients calls nobody
        services = services_from(args)
    assert not network.calls and not services.offline
    assert isinstance(services.llm, OpenRouterLLM) and isinstance(services.market, AlpacaMarketData)
    assert [type(p) for p in services.research] == [PerplexityResearch, GeminiDeepResearch,
                                                     OpenRouterResearch]
    assert isinstance(services.broker_at(datetime.now(ET)), AlpacaBroker)
    assert "value-" not in repr(services.llm)


def test_env_example_lists_every_key_a_real_run_needs() -> None:
    from llmtrade.adapters.store.secrets import required_keys
    from llmtrade.config import load_settings

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    assert all(f"{name}=" in example for name in required_keys(load_settings()))


def test_dates_outside_the_simulation_are_clear_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run-week", "--offline", "--week", "2031-01-08",
                       "--data-dir", str(tmp_path))
    assert code == 2 and "holiday list covers 2024-2028" in err
    code, _, err = run(capsys, "run-week", "--offline", "--week", "2024-01-03",
                       "--data-dir", str(tmp_path))
    # research looks back
    assert code == 2 and "2023-12-24: the NYSE holiday list covers 2024-2028" in err
    code, out, _ = run(capsys, "checkpoint", "--offline", "--at", "2026-12-01 12:00",
                       "--data-dir", str(tmp_path))
    assert code == 0 and "skipped: week 2026-11-25 has no weekly run" in out
