"""Figures, not tests: the size of what each Lambda deploys — the common layer and each function's
own code.

Reads a synthesized cloud assembly (`npx aws-cdk@2 synth --output DIR`, which bundles the layer for
real) and prints, per asset, its files' size and its zipped size (what Lambda stores; the layer
limit is 250 MB unzipped for a function and all its layers; issue 15's target: layer <= 15 MB),
then the layer's largest packages and how much of it is CPython 3.13 bytecode.
Run: python bench/bench_assets.py --cdk-out DIR
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from pathlib import Path


def sizes(folder: Path) -> tuple[int, int]:
    files = [f for f in folder.rglob("*") if f.is_file()]
    raw = sum(f.stat().st_size for f in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(folder))
    return raw, buffer.tell()


def human(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cdk-out", type=Path, required=True)
    args = parser.parse_args()
    [template_path] = [p for p in args.cdk_out.glob("*.template.json")
                       if "LlmTrade" in p.name or "llmtrade" in p.name]
    template = json.loads(template_path.read_text())
    rows = []
    for logical_id, resource in template["Resources"].items():
        path = resource.get("Metadata", {}).get("aws:asset:path")
        if not path or resource["Type"] not in ("AWS::Lambda::LayerVersion",
                                                "AWS::Lambda::Function"):
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
        name = "common layer" if resource["Type"] == "AWS::Lambda::LayerVersion" else \
            f"function {tags.get('llmtrade:function', logical_id)}"
        rows.append((name, *sizes(args.cdk_out / path)))
    layer = next((raw for name, raw, _ in rows if name == "common layer"), 0)
    layer_paths = [args.cdk_out / r["Metadata"]["aws:asset:path"]
                   for r in template["Resources"].values()
                   if r["Type"] == "AWS::Lambda::LayerVersion" and "Metadata" in r]
    for name, raw, zipped in sorted(rows):
        print(f"{name:<22} {human(raw):>10} unzipped {human(zipped):>10} zipped")
    if layer:
        print(f"function + layer unzipped: {layer / 250e6:.1%} of Lambda's 250 MB limit")
    for site in (path / "python" for path in layer_paths):
        packages = sorted(((sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
                            if p.is_dir() else p.stat().st_size), p.name) for p in site.iterdir())
        print("layer's largest: " + ", ".join(f"{name} {human(size)}"
                                              for size, name in reversed(packages[-8:])))
        print(bytecode(site))


def bytecode(site: Path) -> str:
    """How many modules carry bytecode (beside their source in __pycache__, or in its place), and
    what share of the layer's bytes it is: without it a cold start compiles from source."""
    modules = [p for p in site.rglob("*.py*") if p.suffix in (".py", ".pyc")
               and "__pycache__" not in p.parts]
    compiled = [m for m in modules if m.suffix == ".pyc"
                or any((m.parent / "__pycache__").glob(f"{m.stem}.*.pyc"))]
    pyc = sum(p.stat().st_size for p in site.rglob("*.pyc"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    sourceless = sum(m.suffix == ".pyc" for m in modules)
    return (f"layer's bytecode: {len(compiled)} of {len(modules)} modules ({sourceless} without "
            f"source), {human(pyc)} = {pyc / total:.0%} of the layer's files")


if __name__ == "__main__":
    main()
