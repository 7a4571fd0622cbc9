"""`llmtrade replay`: a week's decisions made again from its stored answers, over a multi-week
offline run; one stored answer altered is reported as a difference."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path

import pytest
from llmtrade.entrypoints.cli import main

WEEKS = ["2026-11-11", "2026-11-18"]


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replay")
    code, _ = cli("run-weeks", "--from", WEEKS[0], "--to", WEEKS[-1], "--offline", "--json",
                  "--data-dir", str(folder))
    assert code == 0
    return folder


def test_every_week_replays_identical(data: Path) -> None:
    for week in WEEKS:
        assert cli("replay", "--week", week, "--data-dir", str(data)) == (
            0, f"week {week}: identical\n")


def test_an_altered_stored_answer_is_reported(data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "events.sqlite"
    source = sqlite3.connect(data / "events.sqlite")
    with contextlib.closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    db = sqlite3.connect(copy, isolation_level=None)
    event_id, text = db.execute(
        "SELECT event_id, payload FROM events WHERE week_id = ? AND account_id = 'pm-grok'"
        " AND kind = 'llm_call' AND subject LIKE 'pitch#%'", (WEEKS[1],)).fetchone()
    call = json.loads(text)
    answer = json.loads(call["response_text"])
    answer["conviction"] = -answer["conviction"] if answer["conviction"] else 2
    call["response_text"] = json.dumps(answer)
    db.execute("UPDATE events SET payload = ? WHERE event_id = ?",
               (json.dumps(call, sort_keys=True), event_id))
    code, out = cli("replay", "--week", WEEKS[1], "--data-dir", str(tmp_path))
    assert code == 1
    # the model "said" something else: its pitch (here refused by validation: a failure instead),
    # its target and everything that read the pitch (reviews, the chairman) differ
    assert out.startswith(f"week {WEEKS[1]}: ") and "difference(s)" in out
    assert "- pitch pm-grok: only stored" in out and "- model_failure pm-grok pitch" in out
    assert "- target pm-grok: stored (" in out
    assert cli("replay", "--week", WEEKS[0], "--data-dir", str(tmp_path))[0] == 0
