"""The layer's compile step (infra.layer_bytecode) on a tiny folder, with this machine's CPython
3.13 (skipped without one): reproducible bytes, bytecode-only modules that import, the
interpreter's search; and the layer's hash following the bytecode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import functions
from infra.functions import PYTHON_VERSION, layer_hash
from infra.layer_bytecode import (
    LAYER_PYTHON_VARIABLE,
    LayerPython,
    LayerPythonError,
    compile_site,
    find_layer_python,
)

MODULES = {
    "tool/__init__.py": "from tool.inner import twice\n",
    "tool/inner.py": "VALUE = 21\n\ndef twice():\n    return VALUE * 2\n\ndef fail():\n"
                     "    raise ValueError('from bytecode')\n",
    "ours.py": "import tool\n\nANSWER = tool.twice()\n",
}


@pytest.fixture(scope="module")
def python() -> LayerPython:
    if (found := find_layer_python(PYTHON_VERSION)) is None:
        pytest.skip(f"no CPython {PYTHON_VERSION} on this machine (set {LAYER_PYTHON_VARIABLE})")
    return found


def _site(folder: Path) -> Path:
    for name, text in MODULES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_compiling_gives_the_same_bytes_wherever_it_runs(python: LayerPython,
                                                         tmp_path: Path) -> None:
    first, second = _site(tmp_path / "first"), _site(tmp_path / "elsewhere" / "second")
    compile_site(first, python, sourceless=("tool",))
    compile_site(second, python, sourceless=("tool",))
    built = _contents(first)
    assert built == _contents(second)
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    assert set(built) == {"tool/__init__.pyc", "tool/inner.pyc", "ours.py",
                          f"__pycache__/ours.{tag}.pyc"}
    assert built["tool/inner.pyc"][:4] == bytes.fromhex(python.magic)


IMPORT = """
import sys, traceback
sys.path[:0] = [sys.argv[1]]
import ours, tool.inner
print(ours.ANSWER, type(tool.inner.__loader__).__name__, type(ours.__loader__).__name__)
try:
    tool.inner.fail()
except ValueError as error:
    print(traceback.extract_tb(error.__traceback__)[-1].filename)
"""


def test_bytecode_only_modules_import_under_the_runtimes_python(python: LayerPython,
                                                                tmp_path: Path) -> None:
    site = _site(tmp_path)
    compile_site(site, python, sourceless=("tool",))
    done = subprocess.run([python.executable, "-I", "-S", "-c", IMPORT, str(site)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "42 SourcelessFileLoader SourceFileLoader",
        "/opt/python/tool/inner.py",  # the name it has in Lambda, not this build's folder
    ]


def test_a_wrong_layer_python_is_an_error() -> None:
    for wrong in (sys.executable if sys.version_info[:2] != (3, 13) else "/bin/false",
                  "/no/such/python3.13"):
        with pytest.raises(LayerPythonError, match=f"{LAYER_PYTHON_VARIABLE}=.* is not a working "
                                                   f"CPython {PYTHON_VERSION}"):
            find_layer_python(PYTHON_VERSION, {LAYER_PYTHON_VARIABLE: wrong})


def test_the_search_passes_over_a_shim_that_does_not_run(python: LayerPython,
                                                         tmp_path: Path) -> None:
    shims, install = tmp_path / "shims", tmp_path / "pyenv" / "versions" / "3.13.9" / "bin"
    shims.mkdir()
    install.mkdir(parents=True)
    (shims / "python3.13").write_text("#!/bin/sh\nexit 127\n")  # as pyenv's shim, unselected
    (shims / "python3.13").chmod(0o755)
    (install / "python3.13").symlink_to(python.executable)
    environ = {"PATH": str(shims), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    assert find_layer_python(PYTHON_VERSION, environ) == LayerPython(
        str(install / "python3.13"), python.magic)


def test_the_layer_hash_follows_the_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = set()
    for found in (None, LayerPython("python3.13", "f30d0d0a"), LayerPython("python3.13", "abcd")):
        monkeypatch.setattr(functions, "layer_python", lambda found=found: found)
        hashes.add(layer_hash())
    assert len(hashes) == 3
