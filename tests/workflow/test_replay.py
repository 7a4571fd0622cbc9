"""`llmtrade replay`: a week's decisions made again from its stored answers, and its checkpoints
from the facts they recorded, over a multi-week offline run; an altered stored answer or a tampered
checkpoint decision is reported as a difference."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from llmtrade.domain.calendar import ET
from llmtrade.entrypoints.cli.trust import replay_week
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.schemas import CheckpointAction, CheckpointUpdate, Indicator
from llmtrade.services import Services
from llmtrade.workflow import WEEKLY

from tests.support import cli
from tests.workflow.scripted import Quote, scripted
from tests.workflow.test_trading import _pitching, checkpoint

WEEKS = ["2026-11-11", "2026-11-18"]


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


def _copy(data: Path, tmp_path: Path) -> sqlite3.Connection:
    with contextlib.closing(sqlite3.connect(data / "events.sqlite")) as source, \
            contextlib.closing(sqlite3.connect(tmp_path / "events.sqlite")) as target:
        source.backup(target)
    return sqlite3.connect(tmp_path / "events.sqlite", isolation_level=None)


def test_the_checkpoints_are_replayed_from_what_they_recorded(data: Path) -> None:
    with contextlib.closing(sqlite3.connect(data / "events.sqlite")) as db:
        updates = [json.loads(text) for week, text in db.execute(
            "SELECT week_id, payload FROM events WHERE kind = 'checkpoint_update'")
            if week in WEEKS]
    # every week was checked, each checkpoint with its inputs, positions held and marked
    assert {u["week_id"] for u in updates} == set(WEEKS)
    assert all(u["inputs"]["stop_loss_pct"] > 0 for u in updates)
    assert any(u["inputs"]["position"] and Decimal(u["unrealized_pl"]) for u in updates)


def _on_spy(name: str, threshold: float, role: str) -> Indicator:
    return Indicator.model_validate({"name": name, "measure": "week_return_pct",
                                     "instrument": "SPY", "comparison": "<",
                                     "threshold": threshold, "role": role})


def test_a_flip_and_its_aftermath_replay_identical(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    # long SPY with a flip condition that fires on Friday: FLIP, then STAYs on the flipped side
    week = "2026-11-11"
    _pitching(monkeypatch, {"instrument": "SPY", "conviction": 2, "indicators": [
        _on_spy("falls 2 %: short it", -2.0, "flips"),
        _on_spy("still falling", -0.5, "confirms")]})
    run = datetime(2026, 11, 11, 8, 0, tzinfo=ET)
    friday = datetime(2026, 11, 13, 15, 50, tzinfo=ET)
    opening = services.market.price("SPY", run)
    services = scripted(services, Quote("SPY", opening, run, friday),
                        Quote("SPY", opening * Decimal("0.975"), friday))
    run_workflow(WEEKLY, {"week_id": week}, services)
    for at in ("2026-11-11 12:00", "2026-11-13 15:50", "2026-11-16 12:00"):
        checkpoint(services, at)
    actions = {u.action for u in services.events.week(week).all(CheckpointUpdate)}
    assert CheckpointAction.FLIP in actions
    assert replay_week(services.store, services.settings, week) == []


def test_a_tampered_checkpoint_decision_is_reported(data: Path, tmp_path: Path) -> None:
    with contextlib.closing(_copy(data, tmp_path)) as db:
        event_id, subject, text = db.execute(
            "SELECT event_id, subject, payload FROM events WHERE week_id = ? AND"
            " account_id = 'pm-grok' AND kind = 'checkpoint_update' ORDER BY subject",
            (WEEKS[1],)).fetchone()
        update = json.loads(text)
        update["conviction_after"] += 1 if update["conviction_after"] < 2 else -1
        db.execute("UPDATE events SET payload = ? WHERE event_id = ?",
                   (json.dumps(update, sort_keys=True), event_id))
    code, out = cli("replay", "--week", WEEKS[1], "--data-dir", str(tmp_path))
    assert code == 1
    # the tampered decision, and the next checkpoint's conviction before (it read the tampered one)
    assert f"- checkpoint_update pm-grok {subject}: conviction_after differ" in out
    assert "conviction_before" in out
    assert cli("replay", "--week", WEEKS[0], "--data-dir", str(tmp_path))[0] == 0
