#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml (needs the dev tools: uv). Run after any change of
# [project] dependencies, the extras or [build-system]; `bash requirements/lock.sh --upgrade` moves
# every pin to the newest allowed release. tests/infra/test_lock_files.py checks the result.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every file of each pinned release gets its hash (uv lists them all), so whichever wheel pip picks
# for its platform is covered.
compile=(uv pip compile --quiet --generate-hashes --index-url https://pypi.org/simple
         --custom-compile-command "bash requirements/lock.sh" "$@")

# The Lambda layer: [project].dependencies resolved for the Lambda platform (CPython 3.13, arm64,
# as infra/functions.py builds it), less boto3 and its dependencies, which the runtime provides
# (infra/functions.py PROVIDED_BY_RUNTIME): a copy in the layer would shadow the runtime's pair.
provided=(boto3 botocore s3transfer jmespath python-dateutil six urllib3)
"${compile[@]}" pyproject.toml --python-version 3.13 --python-platform aarch64-manylinux_2_28 \
  "${provided[@]/#/--no-emit-package=}" --output-file requirements/layer.txt

# The dev tools (what .ci/run installs): the dependencies, the cli and dev extras and the build
# backend with pip itself, for any supported Python on any platform (one universal resolution).
build=$(python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')
printf '%s\npip\n' "$build" | "${compile[@]}" pyproject.toml - --extra dev --universal \
  --python-version 3.11 --output-file requirements/dev.txt

# The IaC scanner (.ci/run): checkov at the release requirements/checkov.in names, in a venv of its
# own, since its pins (boto3, packaging, networkx) clash with the dev tools'.
"${compile[@]}" requirements/checkov.in --universal --python-version 3.11 \
  --output-file requirements/checkov.txt
