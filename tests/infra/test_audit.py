"""The audit of the locked set fails on an unacknowledged known vulnerability, and only then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import audit
from infra.audit import Vulnerability, acknowledged, unacknowledged, with_project_pages

GHSA = {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"], "withdrawn": None}


def project(latest: str, *vulnerabilities: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"version": latest}, "vulnerabilities": list(vulnerabilities)}


def test_the_repository_ignore_file_gives_a_reason_for_each_id() -> None:
    assert all(acknowledged().values())


def test_an_id_without_a_reason_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ignore.txt").write_text("# accepted\nPYSEC-2026-1  not reachable from our code\n"
                                         "GHSA-xxxx-yyyy-zzzz\n")
    with pytest.raises(ValueError, match="GHSA-xxxx-yyyy-zzzz needs a reason"):
        acknowledged(tmp_path / "ignore.txt")


def test_an_alias_acknowledges_too() -> None:
    found = [Vulnerability("jinja2", "3.1.6", "GHSA-aaaa-bbbb-cccc", ("CVE-2026-0001",)),
             Vulnerability("httpx", "0.28.1", "PYSEC-2026-2", ())]
    assert unacknowledged(found, {"CVE-2026-0001": "reason"}) == found[1:]


def test_project_pages_audit_pins_at_the_latest_release_only() -> None:
    pages = {"jinja2": project("3.1.6", GHSA, {**GHSA, "id": "GHSA-old", "withdrawn": "2026"}),
             "httpx": project("0.29.0", GHSA)}
    pinned = {"jinja2": {"3.1.6"}, "httpx": {"0.28.1"}}
    found, behind = with_project_pages(pinned, pages.__getitem__)
    assert found == [Vulnerability("jinja2", "3.1.6", "GHSA-aaaa-bbbb-cccc", ("CVE-2026-0001",))]
    assert behind == ["httpx 0.28.1 (latest 0.29.0)"]


@pytest.fixture
def lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(audit, "with_pip_audit", lambda locks: None)  # as on the CI machine
    path = tmp_path / "layer.txt"
    path.write_text("jinja2==3.1.6 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    return path


@pytest.mark.parametrize(("ignore", "code"), [("", 1), ("CVE-2026-0001 only in the CLI\n", 0)])
def test_an_unacknowledged_vulnerability_fails(lock: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], ignore: str,
                                               code: int) -> None:
    monkeypatch.setattr(audit, "fetch_project", lambda name: project("3.1.6", GHSA))
    (lock.parent / "ignore.txt").write_text(ignore)
    assert audit.audit([lock], lock.parent / "ignore.txt") == code
    assert ("KNOWN VULNERABILITY jinja2 3.1.6: GHSA-aaaa-bbbb-cccc" in capsys.readouterr().out
            ) is (code == 1)


def test_an_unreachable_service_is_said_and_does_not_fail(
        lock: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def unreachable(name: str) -> dict[str, Any]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(audit, "fetch_project", unreachable)
    (lock.parent / "ignore.txt").write_text("")
    assert audit.audit([lock], lock.parent / "ignore.txt") == 0
    assert "audit NOT PERFORMED: PyPI unreachable" in capsys.readouterr().out
