"""Jinja2 prompt templates (StrictUndefined: a missing variable is an error, never an empty
string).

Compiling a template (lexing, parsing, generating Python) costs about 4 ms for the two a council
step renders first, at every Lambda cold start, for templates the layer ships read-only. The layer's
bundler compiles them once into Python modules (`compile_into`, Jinja's own `compile_templates`),
which Jinja's ModuleLoader imports as bytecode. They are used only while the sources beside them
are the ones they were compiled from (the digests in their manifest): an edited template is
compiled from its source again. Outside the layer there are none.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    ModuleLoader,
    StrictUndefined,
)

TEMPLATES = Path(__file__).parent
COMPILED = "compiled"  # the folder beside the templates that the layer's bundler compiles into
MANIFEST = "sources.json"


def render(template: str, **variables: Any) -> str:
    return _environment().get_template(f"{template}.j2").render(**variables).strip()


def compile_into(templates: Path) -> Path:
    """Compiles the templates in `templates` (this folder as the layer holds it) into its
    COMPILED folder, with the digests of the sources they were compiled from."""
    target = templates / COMPILED
    _configured(FileSystemLoader(templates)).compile_templates(
        target, zip=None, filter_func=lambda name: name.endswith(".j2"), ignore_errors=False)
    (target / MANIFEST).write_text(json.dumps(_digests(templates)), encoding="utf-8")
    return target


@cache
def _environment() -> Environment:
    return _configured(_compiled() or FileSystemLoader(TEMPLATES))


def _configured(loader: BaseLoader) -> Environment:
    return Environment(loader=loader, undefined=StrictUndefined, keep_trailing_newline=False,
                       autoescape=False)


def _compiled() -> ModuleLoader | None:
    """The compiled templates, while they are those of the sources beside them."""
    try:
        made_from = json.loads((TEMPLATES / COMPILED / MANIFEST).read_bytes())
    except (OSError, ValueError):  # none (outside the layer), or unreadable
        return None
    return ModuleLoader(TEMPLATES / COMPILED) if made_from == _digests(TEMPLATES) else None


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.glob("*.j2"))}
