"""The seal bucket: Object Lock in compliance mode with a default retention, kept on stack
deletion; the sealing function's grant is checked with the other roles (test_operations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmtrade.workflow import SEAL_RETENTION_DAYS

from tests.infra.test_operations import only, resources


def test_the_seal_bucket_is_locked_in_compliance_mode(template_dict: Mapping[str, Any]) -> None:
    seals = resources(template_dict, "AWS::S3::Bucket")[
        only(template_dict, "AWS::S3::Bucket", ObjectLockEnabled=True)]
    props = seals["Properties"]
    assert seals["DeletionPolicy"] == "Retain"
    assert props["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled", "Rule": {
        "DefaultRetention": {"Mode": "COMPLIANCE", "Days": SEAL_RETENTION_DAYS}}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
