"""The offline week's report in a real browser (Debian's chromium, headless): it parses, draws its
charts, logs no console error, and leaves a screenshot (in $REPORT_SCREENSHOT_DIR when set, for CI
to keep). Skips without chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from llmtrade.config import Settings
from llmtrade.reports import leaderboard_report_html, week_report_html
from llmtrade.services import Services

from tests.reports.conftest import WEEKS

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")


def chromium(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *flags, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_errors(stderr: str) -> list[str]:
    """Messages the page logged to the console (CSP violations, failed loads, script errors)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("page", ["week", "leaderboard"])
def test_report_renders_in_chromium(page: str, replay: tuple[Path, Services], settings: Settings,
                                    tmp_path: Path) -> None:
    _, services = replay
    html = (week_report_html(services.store, settings, WEEKS[0]) if page == "week"
            else leaderboard_report_html(services.store, settings))
    file = tmp_path / f"{page}.html"
    file.write_text(html, encoding="utf-8")

    dumped = chromium(file, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert dom.count("<svg") >= 2 and "</html>" in dom
    paths = re.findall(r'<path d="([^"]*)"', dom)
    assert paths and all(re.search(r"\d", d) for d in paths)  # every drawn path has coordinates
    assert not console_errors(dumped.stderr), console_errors(dumped.stderr)

    folder = Path(os.environ.get("REPORT_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    screenshot = folder / f"{page}-report.png"
    shot = chromium(file, tmp_path / "profile-shot", f"--screenshot={screenshot}",
                    "--window-size=1280,3000")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            and screenshot.stat().st_size > 50_000)
    assert not console_errors(shot.stderr), console_errors(shot.stderr)
    print(f"report screenshot: {screenshot}")
