"""`llmtrade show`, `weeks`, `--version`, and the run-week table within 100 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llmtrade import __version__
from llmtrade.entrypoints.cli import main
from llmtrade.schemas import EventKind, LLMCallRecord
from llmtrade.services import Services

from tests.reports.conftest import WEEKS
from tests.support import cli


def test_show_prints_one_accounts_prompt_answer_and_cost(replay: tuple[Path, Services]) -> None:
    data, services = replay
    calls = [LLMCallRecord.model_validate(e.payload)
             for e in services.store.list_week(WEEKS[0], "pm-gpt") if e.kind is EventKind.LLM_CALL]
    assert {c.purpose for c in calls} >= {"pitch", "review"}
    code, out = cli("show", "--week", WEEKS[0], "--account", "pm-gpt", "--data-dir", str(data))
    assert code == 0
    for call in calls:
        assert call.messages[-1]["content"] in out  # the prompt, as sent
        assert f"asked {call.model_requested}" in out
    assert '"thesis_bullets": [' in out  # the answer, pretty-printed
    assert out.rstrip().endswith(
        f"{len(calls)} call(s), {sum(c.prompt_tokens + c.completion_tokens for c in calls):,}"
        " tokens, $0.0000")
    code, out = cli("show", "--week", WEEKS[0], "--account", "pm-gpt", "--data-dir", str(data),
                    "--json")
    assert code == 0 and len(json.loads(out)) == len(calls)
    code, out = cli("show", "--week", WEEKS[0], "--account", "flat", "--data-dir", str(data))
    assert code == 0 and "no LLM calls for flat" in out


def test_weeks_lists_the_stored_weeks(replay: tuple[Path, Services]) -> None:
    data, _ = replay
    code, out = cli("weeks", "--data-dir", str(data), "--json")
    listed = json.loads(out)
    assert code == 0 and [w["week_id"] for w in listed] == WEEKS
    assert all(w["settled"] and w["offline"] and w["llm_calls"] == 9 for w in listed)
    code, out = cli("weeks", "--data-dir", str(data))
    assert code == 0 and all(f"\n{week}  offline" in out for week in WEEKS)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"llmtrade {__version__}"


def test_run_week_table_fits_100_columns(tmp_path: Path) -> None:
    code, out = cli("run-week", "--offline", "--week", "2026-11-25", "--data-dir", str(tmp_path))
    assert code == 0
    assert max(len(line) for line in out.splitlines()[1:]) <= 100  # the title line names the mode
    assert "\npm-gpt " in out and "    order open " in out
