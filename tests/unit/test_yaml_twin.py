"""A YAML file's JSON twin (written by the layer's bundler) stands for it only while the YAML's
text is the text it was made from, and only when it holds the same document."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from llmtrade.config import default_config_dir, load_settings
from llmtrade.config.base import ConfigError
from llmtrade.config.yaml_twin import UniqueKeyLoader, parse, twin_of, write_twin
from llmtrade.domain import calendar


def _file(tmp_path: Path, text: str, name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_matching_twin_is_read_instead_of_the_yaml(tmp_path: Path) -> None:
    path = _file(tmp_path, "a: 1\n")
    twin = write_twin(path)
    assert twin == tmp_path / "doc.yaml.json"
    # the twin is what parse reads: a twin saying otherwise for the same text is believed
    stored = json.loads(twin.read_text())
    stored["document"] = {"a": 2}
    twin.write_text(json.dumps(stored))
    assert parse(path.read_text(), path) == {"a": 2}


def test_an_edited_yaml_is_parsed_again(tmp_path: Path) -> None:
    path = _file(tmp_path, "a: 1\n")
    write_twin(path)
    path.write_text("a: 3\n")
    assert parse(path.read_text(), path) == {"a": 3}


def test_a_broken_twin_is_ignored(tmp_path: Path) -> None:
    path = _file(tmp_path, "a: 1\n")
    twin_of(path).write_text("{not json")
    assert parse(path.read_text(), path) == {"a": 1}
    twin_of(path).write_text("[1, 2]")
    assert parse(path.read_text(), path) == {"a": 1}


def test_dates_and_times_come_back_as_yaml_gives_them(tmp_path: Path) -> None:
    text = ("day: 2026-11-25\nat: 2026-11-25 15:50:00\nnames: [x, 'y']\nratio: 0.25\n"
            "big: 1.0e+300\nflag: true\nnothing: null\n")
    path = _file(tmp_path, text)
    write_twin(path)
    document = parse(text, path)
    assert document == yaml.load(text, Loader=UniqueKeyLoader)
    assert type(document["day"]) is date and type(document["at"]) is datetime
    assert document["flag"] is True and type(document["ratio"]) is float


@pytest.mark.parametrize("text", ["2024: closed\n", "s: !!set {a, b}\n",
                                  "x: !!binary aGk=\n", "'$date': not a date\n"])
def test_no_twin_for_what_json_cannot_hold_exactly(tmp_path: Path, text: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ValueError, match=r"doc\.yaml"):
        write_twin(path)
    assert not twin_of(path).exists()


def test_a_key_given_twice_is_refused_with_or_without_a_twin(tmp_path: Path) -> None:
    path = _file(tmp_path, "a: 1\na: 2\n")
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        write_twin(path)
    good = _file(tmp_path, "a: 1\n", "good.yaml")
    write_twin(good)
    # a twin of other text never covers the duplicate
    shutil.copy(twin_of(good), twin_of(path))
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        parse(path.read_text(), path)


def test_the_shipped_config_and_calendar_read_the_same_through_twins(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(default_config_dir(), config)
    plain = load_settings(config)
    for path in config.glob("*.yaml"):
        write_twin(path)
    assert load_settings(config) == plain
    holidays = tmp_path / "nyse_holidays.yaml"
    shutil.copy(calendar.HOLIDAYS, holidays)
    write_twin(holidays)
    assert parse(holidays.read_text(), holidays) == yaml.safe_load(calendar.HOLIDAYS.read_text())


def test_config_errors_still_name_the_file_and_field_with_a_twin_beside(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(default_config_dir(), config)
    for path in config.glob("*.yaml"):
        write_twin(path)
    risk = config / "risk.yaml"
    risk.write_text(risk.read_text() + "\nunknown_field: 1\n")
    with pytest.raises(ConfigError, match=r"risk\.yaml: unknown_field"):
        load_settings(config)
