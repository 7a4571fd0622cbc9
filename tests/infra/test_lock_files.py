"""The lock files agree with pyproject.toml: every declared dependency is pinned there, at a release
its specifier allows, with hashes (`bash requirements/lock.sh` regenerates them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra import REPO
from infra.functions import LAYER_LOCK, PROVIDED_BY_RUNTIME, runtime_requirements

DEV_LOCK = REPO / "requirements" / "dev.txt"
# The IaC scanner .ci/run installs in a venv of its own (its pins clash with the dev tools')
CHECKOV_IN = REPO / "requirements" / "checkov.in"
CHECKOV_LOCK = REPO / "requirements" / "checkov.txt"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# `name==version \` (a marker may follow), then one `--hash=sha256:...` line per file
ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==(\S+?)\s*(?:;[^\\]*)?\\\n((?:\s+--hash=sha256:[0-9a-f]{64}"
                   r"(?:\s*\\\n|\n|$))+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, set[str]]:
    """Name -> pinned versions (a universal lock may pin one per Python version)."""
    found: dict[str, set[str]] = {}
    for name, version, _ in ENTRY.findall(lock.read_text()):
        found.setdefault(canonicalize_name(name), set()).add(version)
    return found


def declared_for_dev() -> list[Requirement]:
    project = PYPROJECT["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["cli"],
                *project["optional-dependencies"]["dev"], *PYPROJECT["build-system"]["requires"]]
    return [r for r in map(Requirement, declared) if r.name != project["name"]]


@pytest.mark.parametrize("lock", [LAYER_LOCK, DEV_LOCK, CHECKOV_LOCK], ids=lambda p: p.name)
def test_every_entry_is_an_exact_pin_with_hashes(lock: Path) -> None:
    text = lock.read_text()
    requirement_lines = [line for line in text.splitlines()
                         if line and not line[0].isspace() and not line.startswith("#")]
    assert len(ENTRY.findall(text)) == len(requirement_lines) > 10


@pytest.mark.parametrize(("lock", "declared"), [
    (LAYER_LOCK, [Requirement(r) for r in runtime_requirements()]),
    (DEV_LOCK, declared_for_dev()),
    (CHECKOV_LOCK, [Requirement(r) for r in CHECKOV_IN.read_text().splitlines()
                    if r and not r.startswith("#")]),
], ids=["layer", "dev", "checkov"])
def test_every_declared_dependency_is_locked_within_its_specifier(
        lock: Path, declared: list[Requirement]) -> None:
    locked = pins(lock)
    outside = {r.name: locked.get(canonicalize_name(r.name)) for r in declared
               if not locked.get(canonicalize_name(r.name))
               or not all(r.specifier.contains(v, prereleases=True)
                          for v in locked[canonicalize_name(r.name)])}
    assert outside == {}, "run `bash requirements/lock.sh`"


def test_the_layer_lock_leaves_out_what_the_runtime_provides() -> None:
    assert not pins(LAYER_LOCK).keys() & PROVIDED_BY_RUNTIME
    # ...nor the X-Ray SDK: the functions are traced by Lambda and Step Functions themselves
    assert not pins(LAYER_LOCK).keys() & {"aws-xray-sdk", "wrapt"}


def test_the_tests_run_the_releases_the_layer_ships() -> None:
    layer, dev = pins(LAYER_LOCK), pins(DEV_LOCK)
    assert {name: (versions, dev.get(name)) for name, versions in layer.items()
            if dev.get(name) != versions} == {}
