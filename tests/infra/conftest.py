"""One synthesis of the CDK app per session, with asset bundling skipped (test_bundling does it for
real)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra.app import STACK_NAME, build_app


@pytest.fixture(scope="session")
def app() -> App:
    return build_app({"aws:cdk:bundling-stacks": []})


@pytest.fixture(scope="session")
def stack(app: App) -> Stack:
    found = app.node.find_child(STACK_NAME)
    assert isinstance(found, Stack)
    return found


@pytest.fixture(scope="session")
def template(stack: Stack) -> Template:
    # Synthesizes the app, which also runs cdk-nag: an unacknowledged finding fails here already.
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def template_dict(template: Template) -> Mapping[str, Any]:
    return template.to_json()
