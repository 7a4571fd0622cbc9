"""A config folder's validated settings, kept by the layer's bundler beside the YAML they came from.

Validating the five config files builds a pydantic validator for every section and runs it: about
6 ms of every Lambda cold start, for files the layer ships read-only. The bundler validates them
once and pickles the result (`write`); a cold start unpickles it in a fraction of a millisecond.
The snapshot starts with the SHA-256 of the texts it was validated from and is used only while the
folder holds exactly those texts, so an edited file is validated again and a snapshot never stands
for text it was not made from. It is written in the same build as the code it was pickled by (the
layer ships both), and a snapshot that does not unpickle (another release of the classes) is
ignored: the files are validated as if it were absent. Outside the layer there is none.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path

SNAPSHOT = "settings.pickle"


def digest(texts: Mapping[str, str]) -> bytes:
    """The hex SHA-256 of the named texts, in name order."""
    sha = hashlib.sha256()
    for name in sorted(texts):
        sha.update(f"{name}\0{len(texts[name])}\0{texts[name]}\0".encode())
    return sha.hexdigest().encode()


def read(folder: Path, texts: Callable[[], Mapping[str, str]]) -> object | None:
    """What was validated from exactly the texts the folder holds now, or None (no snapshot, or
    one made from other texts). `texts` reads them, and only when there is a snapshot."""
    try:
        kept = (folder / SNAPSHOT).read_bytes()
    except OSError:  # the usual case outside the layer
        return None
    made_from, _, pickled = kept.partition(b"\n")
    if made_from != digest(texts()):
        return None
    try:
        kept_value: object = pickle.loads(pickled)  # written by the bundler, in the read-only layer
    except Exception:  # pickled by other classes: validate the files instead
        return None
    return kept_value


def write(folder: Path, texts: Mapping[str, str], validated: object) -> Path:
    path = folder / SNAPSHOT
    path.write_bytes(digest(texts) + b"\n" + pickle.dumps(validated, protocol=5))
    return path
