"""Bad input and unusable data dirs give one clear line and exit code 2, and write nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.entrypoints.cli import main
from llmtrade.ports import StoreUnavailable

from tests.conftest import WEEK


def fails_clearly(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 2
    out, err = capsys.readouterr()
    assert (out == "" and "Traceback" not in err and err.startswith("llmtrade: ")
            and err.count("\n") == 1)
    return err


def test_an_earlier_week_after_a_later_one_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path)
    assert main(["run-week", "--offline", "--week", "2026-12-02", "--data-dir", data]) == 0
    capsys.readouterr()
    err = fails_clearly(capsys, "run-week", "--offline", "--week", WEEK, "--data-dir", data)
    assert "cannot go back in time" in err and "2026-12-02 08:00 ET" in err
    # no half-written week
    assert SqliteEventStore(tmp_path / "events.sqlite").list_week(WEEK) == []
    # a later week and a rerun of the stored one still work in the same data dir
    assert main(["run-week", "--offline", "--week", "2026-12-09", "--data-dir", data]) == 0
    assert main(["run-week", "--offline", "--week", "2026-12-02", "--data-dir", data]) == 0


def test_a_checkpoint_before_the_brokers_last_order_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path)
    assert main(["run-week", "--offline", "--week", WEEK, "--data-dir", data]) == 0
    assert main(["checkpoint", "--offline", "--at", "2026-11-30 12:00", "--data-dir", data]) == 0
    capsys.readouterr()
    err = fails_clearly(capsys, "checkpoint", "--offline", "--at", "2026-11-30 09:00",
                        "--data-dir", data)
    assert "cannot go back in time" in err
    # a rerun is fine
    assert main(["checkpoint", "--offline", "--at", "2026-11-30 12:00", "--data-dir", data]) == 0


@pytest.mark.parametrize("week", ["0001-01-03", "2031-01-01"])
def test_a_week_outside_the_calendar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], week: str) -> None:
    err = fails_clearly(capsys, "run-week", "--offline", "--week", week,
                        "--data-dir", str(tmp_path / "d"))
    assert "holiday list covers" in err and not (tmp_path / "d").exists()


def test_a_data_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder" in fails_clearly(capsys, "run-week", "--offline", "--data-dir",
                                                       str(tmp_path / "file"))


def test_a_corrupt_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "events.sqlite").write_bytes(b"not a database at all" * 100)
    assert "corrupt" in fails_clearly(capsys, "run-week", "--offline", "--week", WEEK,
                                      "--data-dir", str(tmp_path))
    assert "corrupt" in fails_clearly(capsys, "events", "--week", WEEK, "--data-dir", str(tmp_path))


def test_listing_a_data_dir_with_no_store_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no event store there" in fails_clearly(capsys, "events", "--week", WEEK,
                                                   "--data-dir", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_a_locked_store_is_named(tmp_path: Path) -> None:
    SqliteEventStore(tmp_path / "events.sqlite").close()
    holder = sqlite3.connect(tmp_path / "events.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked by another process"):
            SqliteEventStore(tmp_path / "events.sqlite", busy_timeout_s=0.1)
    finally:
        holder.execute("ROLLBACK")


def test_a_read_only_store_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root ignores file modes, so the read-only case is made with SQLite's own read-only open
    SqliteEventStore(tmp_path / "events.sqlite").close()
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: real_connect(
        f"file:{path}?mode=ro", uri=True, **{k: v for k, v in kw.items() if k != "uri"}))
    with pytest.raises(StoreUnavailable, match="read-only"):
        SqliteEventStore(tmp_path / "events.sqlite")


def test_without_the_cli_extra_a_command_that_reads_a_dotenv_says_how_to_install_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    (tmp_path / ".env").write_text("OPENROUTER_API_KEY=x\n")
    monkeypatch.setitem(sys.modules, "dotenv", None)  # as after `pip install -e .` without [cli]
    err = fails_clearly(capsys, "secrets", "put", "--dry-run",
                        "--env-file", str(tmp_path / ".env"))
    assert "pip install -e '.[cli]'" in err
    # an offline week needs neither python-dotenv nor rich
    assert main(["run-week", "--offline", "--week", WEEK,
                 "--data-dir", str(tmp_path / "data")]) == 0
