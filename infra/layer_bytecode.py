"""The layer's bytecode, compiled at synth time by a CPython of the Lambda runtime's minor version.

Lambda mounts a layer read-only at /opt: without .pyc files in it, every cold start compiles every
module it imports from source (about twice the import time). pip cannot compile for 3.13 when the
synth runs on another CPython, so a 3.13 interpreter found on this machine does it; a .pyc's magic
number is fixed within a minor release, so any 3.13.x serves Lambda's.

Invariants: the same inputs give the same bytes (unchecked-hash .pyc files hold no timestamp, and
the file names compiled in are the ones Lambda sees under /opt/python, not the build folder's);
no interpreter found is a warning, never a failed synth; a wrong LLMTRADE_LAYER_PYTHON is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

LAYER_PYTHON_VARIABLE = "LLMTRADE_LAYER_PYTHON"
LAMBDA_SITE = "/opt/python"  # where Lambda puts a layer's python/ folder
# unchecked-hash: no timestamp in the .pyc, and the import never reads the source to check it
# (right for a read-only layer whose sources never change).
COMPILE = ("-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash")
UNCHECKED_HASH_FLAGS = 0b01  # a .pyc header's flags: hash-based, source not checked (PEP 552)
PROBE = ("import importlib.util, sys; print(sys.implementation.name, "
         "'%d.%d' % sys.version_info[:2], importlib.util.MAGIC_NUMBER.hex())")
MISSING_WARNING = """
!! llmtrade: no CPython {version} found: the layer ships WITHOUT bytecode. Lambda's /opt is
!! read-only, so every cold start compiles each module it imports from source (about 2x the
!! import time). Set {variable} to a CPython {version} executable (or put python{version} on
!! PATH, install it with pyenv, or `uv python install {version}`) and synthesize again.
"""


class LayerPythonError(RuntimeError):
    """LLMTRADE_LAYER_PYTHON names something that is not a working CPython of the right version."""


@dataclass(frozen=True)
class LayerPython:
    executable: str
    magic: str  # importlib.util.MAGIC_NUMBER in hex: the first 4 bytes of every .pyc it writes


def probe(executable: str, version: str) -> LayerPython | None:
    """The interpreter, if running it works and it is CPython `version` (e.g. "3.13")."""
    try:
        done = subprocess.run([executable, "-I", "-c", PROBE], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    reported = done.stdout.split()
    if done.returncode != 0 or reported[:2] != ["cpython", version] or len(reported) != 3:
        return None
    return LayerPython(executable, reported[2])


def _candidates(version: str, environ: Mapping[str, str]) -> Iterator[str]:
    """python3.13 on PATH, pyenv's 3.13 installs, then uv's (a pyenv shim may be on PATH and fail
    to run: probe() tells)."""
    if on_path := shutil.which(f"python{version}", path=environ.get("PATH")):
        yield on_path
    home = environ.get("HOME")
    roots = {Path(r) for r in (environ.get("PYENV_ROOT"), home and f"{home}/.pyenv") if r}
    for root in sorted(roots):
        installs = root.glob(f"versions/{version}*/bin/python{version}")
        yield from map(str, sorted(installs, reverse=True))
    uv = shutil.which("uv", path=environ.get("PATH")) or shutil.which(
        "uv", path=str(Path(sys.executable).parent))
    if uv:
        found = subprocess.run([uv, "python", "find", version], capture_output=True, text=True,
                               check=False)
        if found.returncode == 0 and found.stdout.strip():
            yield found.stdout.strip()


def find_layer_python(version: str, environ: Mapping[str, str] = os.environ) -> LayerPython | None:
    """$LLMTRADE_LAYER_PYTHON (which must be CPython `version`), else the first candidate that
    runs and is; None if there is none."""
    if chosen := environ.get(LAYER_PYTHON_VARIABLE):
        if found := probe(chosen, version):
            return found
        raise LayerPythonError(f"{LAYER_PYTHON_VARIABLE}={chosen!r} is not a working CPython "
                               f"{version} (the Lambda runtime's, whose bytecode the layer ships)")
    return next(filter(None, (probe(c, version) for c in _candidates(version, environ))), None)


def warn_missing(version: str) -> None:
    print(MISSING_WARNING.format(version=version, variable=LAYER_PYTHON_VARIABLE),
          file=sys.stderr)


def compile_site(site: Path, python: LayerPython, sourceless: Collection[str] = ()) -> None:
    """Compiles every module under `site` (a layer's python/ folder) into __pycache__ beside its
    source, but the top-level packages and modules named in `sourceless`: those become bytecode
    only (x.pyc in place of x.py, which CPython imports as it is; smaller, but their tracebacks
    show file and line without the code text)."""
    tops = [p for p in sorted(site.iterdir())
            if p.suffix == ".py" or (p.is_dir() and p.suffix != ".dist-info")]
    bare = [p for p in tops if p.name.removesuffix(".py") in sourceless]
    for targets, legacy in (([p for p in tops if p not in bare], ()), (bare, ("-b",))):
        if targets:
            _compileall(python, site, [*legacy, *map(str, targets)])
    for top in bare:
        for source in [top] if top.is_file() else sorted(top.rglob("*.py")):
            if source.with_suffix(".pyc").is_file():
                source.unlink()


def _compileall(python: LayerPython, site: Path, arguments: list[str]) -> None:
    # -s/-p: compile in the name the module has in Lambda, not this build's temporary folder
    command = [python.executable, "-I", *COMPILE, "-s", str(site), "-p", LAMBDA_SITE, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"compileall could not compile the layer:\n{done.stdout}{done.stderr}")
