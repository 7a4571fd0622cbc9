"""A YAML file's parsed document, read from its JSON twin when one matches the text.

PyYAML's pure-Python parser takes about 10 ms for the config and the holiday calendar, at every
Lambda cold start; `json` reads the same documents in well under a millisecond. The layer's
bundler writes `x.yaml.json` beside each `x.yaml` it ships (`write_twin`). A twin holds the
SHA-256 of the text it was parsed from and is used only while the YAML's text has that hash, so an
edited file is parsed again and a twin can never stand for text it was not made from. A twin is
written only when reading it back gives a document equal to the parsed one (dates tagged, keys
strings): what YAML means is never changed by the shortcut.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

TWIN_SUFFIX = ".json"
_DATE, _DATETIME = "$date", "$datetime"


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def twin_of(path: Path) -> Path:
    return path.with_name(path.name + TWIN_SUFFIX)


def parse(text: str, path: Path) -> Any:
    """The document `text` (read from `path`) holds: its twin's when that matches, else YAML's
    (raising YAMLError as yaml.load does, a key given twice included)."""
    try:
        twin = json.loads(twin_of(path).read_bytes(), object_hook=_tagged)
    except (OSError, ValueError):  # no twin (the usual case outside the layer), or unreadable
        twin = None
    if isinstance(twin, dict) and twin.get("sha256") == _digest(text):
        return twin["document"]
    return yaml.load(text, Loader=UniqueKeyLoader)


def write_twin(path: Path) -> Path:
    """Writes `path`'s twin; ValueError when JSON cannot hold its document exactly."""
    text = path.read_text(encoding="utf-8")
    document = yaml.load(text, Loader=UniqueKeyLoader)
    try:
        encoded = json.dumps({"sha256": _digest(text), "document": document}, default=_tag,
                             sort_keys=True, ensure_ascii=False)
        same = json.loads(encoded, object_hook=_tagged)["document"] == document
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: its document has no JSON twin: {exc}") from exc
    if not same:
        raise ValueError(f"{path}: its document does not survive JSON (a non-string key?)")
    twin = twin_of(path)
    twin.write_text(encoded, encoding="utf-8")
    return twin


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tag(value: object) -> dict[str, str]:
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {_DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    raise TypeError(f"{type(value).__name__} has no JSON form here")


def _tagged(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if _DATE in obj:
            return date.fromisoformat(obj[_DATE])
        if _DATETIME in obj:
            return datetime.fromisoformat(obj[_DATETIME])
    return obj
