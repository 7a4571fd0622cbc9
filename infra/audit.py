"""Vulnerability audit of the locked set: `python -m infra.audit requirements/layer.txt ...`.

Exit 1 on a known vulnerability in a pinned release that requirements/audit-ignore.txt does not
acknowledge (one `ID reason` per line; an ID or any of its aliases). Exit 0 otherwise, including
when no advisory service answers: network trouble is said clearly and never fails CI.

pip-audit asks PyPI about each pinned release (`/pypi/NAME/VERSION/json`). Where only the
registry's project pages answer (`/pypi/NAME/json`, as on the CI machine), the audit falls back to
them: PyPI lists there the vulnerabilities of the latest release, so a pin at the latest release is
audited and a pin behind it is reported as not audited.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import REPO

ACKNOWLEDGED = REPO / "requirements" / "audit-ignore.txt"
PYPI = "https://pypi.org/pypi"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]

    def __str__(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package} {self.version}: {self.id}{aliases}"


def acknowledged(path: Path = ACKNOWLEDGED) -> dict[str, str]:
    """ID -> reason; a line without a reason is refused (ValueError)."""
    reasons: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vulnerability_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{path.name}:{number}: {vulnerability_id} needs a reason")
        reasons[vulnerability_id] = reason.strip()
    return reasons


def unacknowledged(found: Iterable[Vulnerability], reasons: Mapping[str, str]
                   ) -> list[Vulnerability]:
    return [v for v in found if not {v.id, *v.aliases} & reasons.keys()]


def pins(locks: Iterable[Path]) -> dict[str, set[str]]:
    """Name -> pinned versions over the lock files (a universal lock may pin two)."""
    found: dict[str, set[str]] = {}
    for lock in locks:
        for name, version in PIN.findall(lock.read_text()):
            found.setdefault(name.lower(), set()).add(version)
    return found


def with_pip_audit(locks: Iterable[Path]) -> list[Vulnerability] | None:
    """pip-audit's findings, or None when it could audit no release (no service answered)."""
    found: list[Vulnerability] = []
    for lock in locks:
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--require-hashes",
             "--disable-pip", "--vulnerability-service", "pypi", "--format", "json",
             "--progress-spinner", "off"], capture_output=True, text=True, check=False)
        try:
            dependencies = json.loads(done.stdout)["dependencies"]
        except (json.JSONDecodeError, KeyError):
            return None
        if all("skip_reason" in d for d in dependencies):
            return None
        found += [Vulnerability(d["name"], d["version"], v["id"], tuple(v.get("aliases", ())))
                  for d in dependencies for v in d.get("vulns", ())]
    return found


def fetch_project(name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=30) as response:
        project: dict[str, Any] = json.load(response)
        return project


def with_project_pages(pinned: Mapping[str, set[str]], fetch: Callable[[str], dict[str, Any]]
                       ) -> tuple[list[Vulnerability], list[str]]:
    """(vulnerabilities of the pins at the latest release, the pins behind it)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = dict(zip(pinned, pool.map(fetch, pinned), strict=True))
    found: list[Vulnerability] = []
    behind: list[str] = []
    for name, versions in sorted(pinned.items()):
        latest = projects[name]["info"]["version"]
        behind += [f"{name} {v} (latest {latest})" for v in sorted(versions) if v != latest]
        if latest in versions:
            found += [Vulnerability(name, latest, v["id"], tuple(v.get("aliases") or ()))
                      for v in projects[name].get("vulnerabilities", ())
                      if not v.get("withdrawn")]
    return found, behind


def audit(locks: list[Path], ignore_file: Path = ACKNOWLEDGED) -> int:
    reasons = acknowledged(ignore_file)
    found = with_pip_audit(locks)
    if found is None:
        pinned = pins(locks)
        print("audit: pip-audit could audit no release (per-release advisories unreachable); "
              "using PyPI's project pages, which list the latest release's vulnerabilities")
        try:
            found, behind = with_project_pages(pinned, fetch_project)
        except OSError as error:
            print(f"audit NOT PERFORMED: PyPI unreachable ({error}); not failing on network "
                  "trouble")
            return 0
        total = sum(map(len, pinned.values()))
        print(f"audit: {total - len(behind)} of {total} pins audited; behind the latest release, "
              f"so not audited here: {', '.join(behind) or 'none'}")
    for vulnerability in found:
        reason = next((reasons[i] for i in (vulnerability.id, *vulnerability.aliases)
                       if i in reasons), None)
        if reason:
            print(f"audit: acknowledged {vulnerability}: {reason}")
    missing = unacknowledged(found, reasons)
    for vulnerability in missing:
        print(f"audit: KNOWN VULNERABILITY {vulnerability} (upgrade, or acknowledge it with a "
              f"reason in {ignore_file})")
    print(f"audit: {len(missing)} unacknowledged known vulnerabilities in {len(locks)} lock files")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(audit([Path(a) for a in sys.argv[1:]]))
