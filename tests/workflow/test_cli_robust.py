"""Every CLI failure is one line and a documented exit code: 2 refused before anything ran
(nothing created), 1 a run that failed part-way and that the same command continues; --debug shows
the traceback; a closed pipe ends quietly. The read-only commands serve a read-only store; the
store and the simulated broker are checked against each other."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.entrypoints.cli import main
from llmtrade.schemas import Event

from tests.conftest import REPO, WEEK
from tests.workflow.test_cli_errors import fails_clearly

CLI = [sys.executable, "-m", "llmtrade.entrypoints.cli"]


def ran(tmp_path: Path, *more: str) -> str:
    data = str(tmp_path / "data")
    assert main(["run-week", "--offline", "--week", WEEK, "--data-dir", data, *more]) == 0
    return data


def fails_rerunnably(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 1
    err = capsys.readouterr().err
    assert err.startswith("llmtrade: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "the same command continues" in err
    return err


@pytest.mark.parametrize(("file", "old", "new", "named"), [
    ("risk.yaml", "risk_budget_usd: 20000", "risk_budget_usd: .inf", "risk_budget_usd"),
    ("risk.yaml", "starting_equity_usd: 100000", "starting_equity_usd: true",
     "starting_equity_usd"),
    ("risk.yaml", "starting_equity_usd: 100000", "starting_equity_usd: 1e300",
     "starting_equity_usd"),
    ("models.yaml", "quorum: 3", "quorum: 3\nquorum: 9", "'quorum' is given twice"),
])
def test_a_config_refusal_names_file_and_field_and_creates_no_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, old: str, new: str,
        named: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / file).write_text((config / file).read_text().replace(old, new, 1))
    err = fails_clearly(capsys, "run-week", "--offline", "--week", WEEK, "--config-dir",
                        str(config), "--data-dir", str(tmp_path / "data"))
    assert file in err and named in err and not (tmp_path / "data").exists()


def test_bad_flags_are_refused_in_one_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = ran(tmp_path)
    capsys.readouterr()
    assert "not a date" in fails_clearly(capsys, "run-week", "--offline", "--week", "",
                                         "--data-dir", data)
    assert "is a folder" in fails_clearly(capsys, "report", "--week", WEEK, "--out", str(tmp_path),
                                          "--data-dir", data)
    for command in (["events", "--week", WEEK], ["show", "--week", WEEK]):
        err = fails_clearly(capsys, *command, "--account", "pm-nobody", "--data-dir", data)
        assert "'pm-nobody' is not an account of the config: pm-gpt" in err
    assert "no events for week 2026-11-18" in fails_clearly(
        capsys, "show", "--week", "2026-11-18", "--account", "pm-gpt", "--data-dir", data)
    assert "risk.yaml: is a file, not a config folder" in fails_clearly(
        capsys, "leaderboard", "--config-dir", str(REPO / "config" / "risk.yaml"),
        "--data-dir", data)


def test_a_run_that_fails_part_way_is_one_line_exit_1_and_debug_shows_the_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from llmtrade.adapters.research.offline import OfflineResearch
    from llmtrade.schemas import ResearchStatus

    def unauthorized(*_: object) -> ResearchStatus:
        return ResearchStatus(state="failed", error="the provider answered 401")

    # every research provider fails
    monkeypatch.setattr(OfflineResearch, "start", unauthorized)
    args = ["run-week", "--offline", "--week", WEEK, "--data-dir", str(tmp_path / "data")]
    assert "research produced no pack" in fails_rerunnably(capsys, *args)
    assert main([*args, "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(args) == 0  # the rerun continues


def test_a_full_disk_is_one_line_and_a_clean_rerun(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    append, writes = SqliteEventStore.append, []

    def filling(self: SqliteEventStore, event: Event) -> bool:
        writes.append(event)
        if len(writes) > 12:
            raise sqlite3.OperationalError("database or disk is full")
        return append(self, event)

    monkeypatch.setattr(SqliteEventStore, "append", filling)
    args = ["run-week", "--offline", "--week", WEEK, "--data-dir", str(tmp_path / "data")]
    assert "the disk is full" in fails_rerunnably(capsys, *args)
    monkeypatch.undo()
    # what the full disk let in (the fan-out's threads race for the last writes, so not exactly 12)
    before_rerun = len(SqliteEventStore(tmp_path / "data" / "events.sqlite").list_week(WEEK))
    assert 0 < before_rerun < 16
    assert main([*args, "--json"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    clean = tmp_path / "clean"
    assert main(["run-week", "--offline", "--week", WEEK, "--data-dir", str(clean)]) == 0
    stored = SqliteEventStore(tmp_path / "data" / "events.sqlite").list_week(WEEK)
    assert ({(e.account_id, e.kind, e.subject) for e in stored}
            == {(e.account_id, e.kind, e.subject)
                for e in SqliteEventStore(clean / "events.sqlite").list_week(WEEK)})
    assert rerun["new_events"] == len(stored) - before_rerun


def test_a_store_without_its_broker_is_refused(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = ran(tmp_path)
    (Path(data) / "sim_broker.sqlite").unlink()
    capsys.readouterr()
    err = fails_clearly(capsys, "run-week", "--offline", "--week", "2026-12-02", "--data-dir", data)
    assert "sim_broker.sqlite is missing" in err and "records" in err
    assert not (Path(data) / "sim_broker.sqlite").exists()  # the refusal created nothing
    shutil.copy(Path(data) / "events.sqlite", tmp_path / "kept.sqlite")
    (Path(data) / "events.sqlite").unlink()
    other = ran(tmp_path / "other")
    (Path(other) / "events.sqlite").unlink()
    capsys.readouterr()
    assert "holds orders no event records" in fails_clearly(
        capsys, "checkpoint", "--offline", "--at", "2026-11-30 12:00", "--data-dir", other)


def test_a_live_checkpoint_asks_for_the_broker_keys_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("OPENROUTER_API_KEY", "PERPLEXITY_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    err = fails_clearly(capsys, "checkpoint", "--at", "2026-11-30 12:00",
                        "--data-dir", str(tmp_path / "d"))
    assert "ALPACA_PM_GPT_KEY_ID" in err and "OPENROUTER" not in err and "GEMINI_API" not in err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    data = ran(tmp_path)
    pipeline = subprocess.run(
        f"{' '.join(CLI)} events --week {WEEK} --json --data-dir {data} | head -c 10",
        shell=True, capture_output=True, text=True, timeout=60, check=False)
    assert pipeline.stdout == "[\n  {\n    " and pipeline.stderr == ""


def _read_only(data: str, *command: str) -> subprocess.CompletedProcess[str]:
    """The command in a mount namespace where the data dir is a read-only mount."""
    script = (f"mount --bind {data} {data} && mount -o remount,bind,ro {data} && "
              f"{' '.join(CLI)} {' '.join(command)} --data-dir {data}")
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_read_only_store_serves_the_read_only_commands(tmp_path: Path) -> None:
    data = ran(tmp_path)
    if shutil.which("unshare") is None or _read_only(data, "--version").returncode != 0:
        pytest.skip("no unprivileged mount namespace here to make a read-only disk")
    listed = _read_only(data, "weeks", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["week_id"] == WEEK
    assert _read_only(data, "events", "--week", WEEK).returncode == 0
    refused = _read_only(data, "run-week", "--offline", "--week", WEEK)
    assert refused.returncode == 2 and "read-only" in refused.stderr
    assert refused.stderr.count("\n") == 1
