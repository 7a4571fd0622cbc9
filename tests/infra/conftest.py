"""One synthesis of the CDK app per session at the default context, and one with every option
turned the other way, with asset bundling skipped (test_bundling does it for real)."""

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


# An email subscription, the dashboard, no reserved concurrency: as strings, as `cdk -c` gives them.
OPTED_IN = {"alerts_email": "ops@example.com", "dashboard": "true", "reserved_concurrency": "false"}


@pytest.fixture(scope="session")
def opted_in_stack() -> Stack:
    found = build_app({"aws:cdk:bundling-stacks": [], **OPTED_IN}).node.find_child(STACK_NAME)
    assert isinstance(found, Stack)
    return found


@pytest.fixture(scope="session")
def opted_in_template(opted_in_stack: Stack) -> Mapping[str, Any]:
    return Template.from_stack(opted_in_stack).to_json()
