"""Progress during long runs: every new event of a run moves the status line; off when not a
terminal."""

from __future__ import annotations

import dataclasses
import sys

import pytest
from llmtrade.entrypoints.progress import Progress, _ObservedStore, progress
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.services import Services
from llmtrade.workflow import WEEKLY


class RecordingStatus:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def update(self, text: str) -> None:
        self.lines.append(text)


def test_each_new_event_of_the_weekly_run_updates_the_status(services: Services) -> None:
    status = RecordingStatus()
    shown = Progress(status)
    observed = dataclasses.replace(services, store=_ObservedStore(services.store, shown.seen))
    shown.stage("week 2026-11-25")
    run_workflow(WEEKLY, {"week_id": "2026-11-25"}, observed)
    lines = status.lines
    assert lines[0] == "week 2026-11-25"
    for step in ("research pack", "pitch", "peer review", "chairman decision", "order",
                 "week summary"):
        assert any(line.startswith(f"week 2026-11-25 · {step} · ") for line in lines), step
    assert len(lines) == 1 + len(services.store.list_week("2026-11-25"))
    before = len(lines)
    # a rerun stores nothing new: nothing to show
    run_workflow(WEEKLY, {"week_id": "2026-11-25"}, observed)
    assert len(lines) == before


def test_no_status_when_stderr_is_not_a_terminal(services: Services) -> None:
    with progress(services, enabled=True) as (observed, shown):  # pytest captures stderr: not a TTY
        assert observed is services
        shown.stage("ignored")


def test_no_status_without_rich_even_on_a_terminal(services: Services,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            raise AssertionError(f"nothing is shown without rich: {text!r}")

    # as where the `cli` extra is not installed
    monkeypatch.setitem(sys.modules, "rich.console", None)
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress(services, enabled=True) as (observed, shown):
        assert observed is services
        shown.stage("week 2026-11-25")
