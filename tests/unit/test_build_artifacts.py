"""What the layer's bundler makes from read-only files so a cold start does not make it again: the
validated settings (config.snapshot) and the compiled prompt templates (prompts). Each stands for
its files only while they are the files it was made from; else the files are read as without it.
(The YAML twins have their own tests: test_yaml_twin.py.)"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import FileSystemLoader, ModuleLoader
from llmtrade import prompts
from llmtrade.config import ConfigError, Settings, load_settings, snapshot
from llmtrade.config.settings import write_snapshot
from llmtrade.config.snapshot import SNAPSHOT, digest

from tests.conftest import REPO


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config"


def _write_other_settings(config_dir: Path, settings: Settings) -> Settings:
    """A snapshot of the same texts holding other settings: what load_settings returns when it
    believes the snapshot."""
    other = settings.model_copy(update={"risk": settings.risk.model_copy(
        update={"risk_budget_usd": settings.risk.risk_budget_usd + 1})})
    kept = write_snapshot(config_dir)
    made_from = kept.read_bytes().partition(b"\n")[0]
    kept.write_bytes(made_from + b"\n" + pickle.dumps(other))
    return other


def test_the_snapshot_is_the_validated_settings_and_is_read_instead_of_the_files(
        config_dir: Path, settings: Settings) -> None:
    assert write_snapshot(config_dir) == config_dir / SNAPSHOT
    assert load_settings(config_dir) == settings
    other = _write_other_settings(config_dir, settings)
    assert load_settings(config_dir) == other != settings


def test_an_edited_file_is_validated_again(config_dir: Path, settings: Settings) -> None:
    _write_other_settings(config_dir, settings)
    risk = config_dir / "risk.yaml"
    risk.write_text(risk.read_text() + "# a comment\n")
    assert load_settings(config_dir) == settings
    risk.write_text(risk.read_text() + "nonsense_field: 1\n")
    with pytest.raises(ConfigError, match=r"risk\.yaml: nonsense_field"):
        load_settings(config_dir)


def test_a_snapshot_that_does_not_unpickle_is_ignored(config_dir: Path,
                                                      settings: Settings) -> None:
    kept = write_snapshot(config_dir)
    kept.write_bytes(kept.read_bytes().partition(b"\n")[0] + b"\nnot a pickle")
    assert load_settings(config_dir) == settings


def test_without_a_snapshot_the_texts_are_not_read_for_it(tmp_path: Path) -> None:
    def unread() -> dict[str, str]:
        raise AssertionError("read the texts although there is no snapshot")

    assert snapshot.read(tmp_path, unread) is None


def test_the_digest_tells_texts_and_names_apart() -> None:
    assert digest({"a": "x", "b": "y"}) == digest({"b": "y", "a": "x"})
    assert len({digest({"a": "xy", "b": ""}), digest({"a": "x", "b": "y"}),
                digest({"b": "x", "a": "y"})}) == 3


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the prompts folder, compiled, standing for the package's own."""
    copy = tmp_path / "prompts"
    shutil.copytree(prompts.TEMPLATES, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    prompts.compile_into(copy)
    monkeypatch.setattr(prompts, "TEMPLATES", copy)
    prompts._environment.cache_clear()
    yield copy
    prompts._environment.cache_clear()


SYSTEM = {"role": "a portfolio manager", "universe": ["SPY", "TLT"], "schema_name": "PitchAnswer"}


def test_compiled_templates_are_used_and_render_as_their_sources(templates: Path) -> None:
    from_source = prompts._configured(FileSystemLoader(templates))
    assert isinstance(prompts._environment().loader, ModuleLoader)
    for name in ("system", "qa_system"):
        assert prompts.render(name, **SYSTEM) == \
            from_source.get_template(f"{name}.j2").render(**SYSTEM).strip()
    assert len(list((templates / prompts.COMPILED).glob("tmpl_*.py"))) == \
        len(list(templates.glob("*.j2")))


def test_an_unreadable_manifest_means_the_sources(templates: Path) -> None:
    (templates / prompts.COMPILED / prompts.MANIFEST).write_text("{not json")
    assert not isinstance(prompts._environment().loader, ModuleLoader)
    assert prompts.render("system", **SYSTEM).startswith("You are a portfolio manager")


def test_an_edited_template_is_compiled_from_its_source(templates: Path) -> None:
    system = templates / "system.j2"
    system.write_text(system.read_text() + "\nEdited after the build.\n")
    assert not isinstance(prompts._environment().loader, ModuleLoader)
    assert prompts.render("system", **SYSTEM).endswith("Edited after the build.")
