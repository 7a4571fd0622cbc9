"""What the default configuration deploys and costs (README "What it costs"), and what the IaC scan
(checkov) is told to accept: the dashboard only on request, each function's concurrency reserved
for its fan-out, the dead-letter queue under the alerts key, the report bucket versioned."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cfnlint.api import lint
from llmtrade.config import Settings
from llmtrade.workflow import FUNCTIONS

from infra import REPO
from infra.app import build_app
from infra.functions import fan_out_widths
from infra.trade_offs import SKIPPED
from tests.infra.test_operations import function_ids, only, resources

# Lambda keeps this much of an account's concurrency unreserved (its default quota is 1,000).
UNRESERVED_MINIMUM, DEFAULT_QUOTA = 100, 1000


def test_the_dashboard_is_opt_in(template: Template,
                                 opted_in_template: Mapping[str, Any]) -> None:
    template.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    assert len(resources(opted_in_template, "AWS::CloudWatch::Dashboard")) == 1
    assert json.loads((REPO / "cdk.json").read_text())["context"]["dashboard"] is False


@pytest.mark.parametrize("value", ["yes", "1", 1])
def test_a_flag_is_true_or_false(value: Any) -> None:
    with pytest.raises(ValueError, match="dashboard"):
        build_app({"aws:cdk:bundling-stacks": [], "dashboard": value})


def test_each_function_reserves_its_widest_fan_out(template_dict: Mapping[str, Any],
                                                   settings: Settings) -> None:
    reserved = {name: template_dict["Resources"][logical_id]["Properties"]
                .get("ReservedConcurrentExecutions")
                for name, logical_id in function_ids(template_dict).items()}
    pms, accounts = len(settings.pm_accounts), len(settings.accounts.accounts)
    # research runs one task at a time; pitches and reviews fan out over the PMs; orders and
    # checkpoints over the accounts
    assert reserved == {"research": 1, "council": pms, "execute": accounts,
                        "checkpoint": accounts}
    assert reserved == fan_out_widths({"pm_accounts": pms, "accounts": accounts})
    assert sum(reserved.values()) <= DEFAULT_QUOTA - UNRESERVED_MINIMUM


def test_reserved_concurrency_can_be_left_off(opted_in_template: Mapping[str, Any]) -> None:
    functions = [opted_in_template["Resources"][logical_id]["Properties"]
                 for logical_id in function_ids(opted_in_template).values()]
    assert len(functions) == len(FUNCTIONS)
    assert not any("ReservedConcurrentExecutions" in f for f in functions)


def test_the_dead_letter_queue_is_encrypted_with_the_alerts_key(
        template_dict: Mapping[str, Any]) -> None:
    key = only(template_dict, "AWS::KMS::Key")
    (queue,) = resources(template_dict, "AWS::SQS::Queue").values()
    assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert "SqsManagedSseEnabled" not in queue["Properties"]
    # the one customer-managed key: the alerts topic's
    assert len(resources(template_dict, "AWS::KMS::Key")) == 1


def test_the_report_bucket_is_versioned_and_forgets_replaced_reports(
        template_dict: Mapping[str, Any]) -> None:
    bucket = resources(template_dict, "AWS::S3::Bucket")[
        only(template_dict, "AWS::S3::Bucket", ObjectLockEnabled=None)]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}


def test_fixed_costs_at_the_default_configuration(template_dict: Mapping[str, Any]) -> None:
    """The resources billed by the month whatever runs: two secrets ($0.40 each), the alerts key
    ($1), two alarms ($0.10 each); no dashboard ($3)."""
    count = {kind: len(resources(template_dict, kind)) for kind in (
        "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm", "AWS::CloudWatch::Dashboard")}
    assert count == {"AWS::SecretsManager::Secret": 2, "AWS::KMS::Key": 1,
                     "AWS::CloudWatch::Alarm": 2, "AWS::CloudWatch::CompositeAlarm": 0,
                     "AWS::CloudWatch::Dashboard": 0}


def test_checkov_skips_are_the_declared_ones_with_reasons(
        template_dict: Mapping[str, Any]) -> None:
    for resource in template_dict["Resources"].values():
        skipped = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        assert {s["id"]: s["comment"] for s in skipped} == SKIPPED.get(resource["Type"], {})
    declared = {check for checks in SKIPPED.values() for check in checks}
    readme = (REPO / "README.md").read_text()
    assert [check for check in sorted(declared) if check not in readme] == []


def test_the_opted_in_template_is_cfn_lint_clean(opted_in_template: Mapping[str, Any]) -> None:
    assert [str(m) for m in lint(json.dumps(opted_in_template), regions=["us-east-1"])] == []
