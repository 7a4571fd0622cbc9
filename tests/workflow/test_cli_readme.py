"""The README's Quickstart and "Using it locally" commands, run in the order written in a scratch
folder, work whatever day of the week it is (the CLI's today set by LLMTRADE_TODAY)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from llmtrade.entrypoints.cli import main
from llmtrade.entrypoints.cli.common import TODAY_ENV
from llmtrade.entrypoints.cli.weekly import FUTURE_NOTE

from tests.conftest import REPO


def readme_commands() -> list[list[str]]:
    """The `llmtrade` lines of the two sections' code blocks, in order, without their comments."""
    text = REPO.joinpath("README.md").read_text()
    sections = re.findall(r"^## (Quickstart|Using it locally)\n(.*?)(?=^## )", text, re.S | re.M)
    blocks = [block for _, body in sections for block in re.findall(r"```bash\n(.*?)```", body,
                                                                    re.S)]
    return [shlex.split(line, comments=True)[1:] for block in blocks
            for line in block.splitlines() if line.startswith("llmtrade ")]


def test_the_readme_lists_the_commands_in_order() -> None:
    commands = [c[0] for c in readme_commands()]
    assert commands[0] == "run-week" and {"checkpoint", "run-weeks", "leaderboard", "events",
                                          "report", "show", "weeks", "council"} <= set(commands)


# a Monday before the README's week, its Wednesday, the Sunday after, the Thursday a week later
@pytest.mark.parametrize("today", ["2026-11-23", "2026-11-25T12:30", "2026-11-29", "2026-12-03"])
def test_the_readme_commands_work_in_order_on_any_day(
        today: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(TODAY_ENV, today)
    for command in readme_commands():
        code = main(command)
        out, err = capsys.readouterr()
        assert code == 0, f"llmtrade {shlex.join(command)} ended {code}: {err}"
        if command[0] == "run-week" and "--offline" in command:
            # the README's week runs at 08:00 on 2026-11-25: simulated future only before it
            assert (FUTURE_NOTE in out) == (today < "2026-11-25T08")
        if command[0] == "leaderboard":
            assert "no settled weeks" not in out and "council" in out
        if command[0] == "events":
            assert re.search(r"order .*(buy|sell) \d+ \w+: (accepted|filled)", out)
