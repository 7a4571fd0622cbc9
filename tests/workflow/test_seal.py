"""The seal: before a week's first order, one event fixes its decisions, config and code; `llmtrade
verify` checks every chain and seal; in AWS the seal goes to an Object Lock bucket (moto)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import llmtrade
import pytest
from botocore.exceptions import ClientError
from llmtrade.entrypoints.after_step import archive_seal
from llmtrade.entrypoints.runner import run_workflow
from llmtrade.mechanics.provenance import config_hash, verify
from llmtrade.schemas import SHARED_ACCOUNT, EventKind, ModelFailure, Seal
from llmtrade.services import Services
from llmtrade.workflow import WEEKLY
from moto import mock_aws

from tests.conftest import WEEK
from tests.support import cli


def test_the_week_is_sealed_before_its_first_order_and_verify_checks_it(
        services: Services, tmp_path: Path) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    events = services.store.list_week(WEEK)
    (sealed,) = [e for e in events if e.kind is EventKind.SEAL]
    seal = Seal.model_validate(sealed.payload)
    kinds = {e.kind for e in events if e.event_id in seal.events}
    assert kinds == {EventKind.RESEARCH_PACK, EventKind.PITCH, EventKind.PEER_REVIEW,
                     EventKind.CHAIRMAN_DECISION}
    assert len(seal.events) == 1 + 4 + 4 + 1
    orders = [e for e in events if e.kind is EventKind.ORDER]
    assert orders and sealed.recorded_at <= min(e.recorded_at for e in orders)
    assert seal.config_hash == config_hash(services.settings)
    assert seal.code_version.startswith(llmtrade.__version__)
    assert not verify(services.store, [WEEK]).broken

    code, out = cli("verify", "--data-dir", str(tmp_path), "--week", WEEK)
    assert code == 0 and out.startswith("intact: 1 week(s)") and "1 seal(s)" in out

    # a model failure recorded after the seal is not what the week decided on
    services.events.record(ModelFailure(week_id=WEEK, account_id="pm-gpt", model="m",
                                        stage="pitch", reason="late", timestamp=seal.sealed_at),
                           week_id=WEEK, account_id="pm-gpt", subject="after")
    code, out = cli("verify", "--data-dir", str(tmp_path))
    assert code == 1 and "recorded after the seal" in out and "seal" in out


def test_verify_names_the_first_broken_link_of_a_changed_pitch(services: Services,
                                                                tmp_path: Path) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    db = sqlite3.connect(tmp_path / "events.sqlite", isolation_level=None)
    (payload,) = db.execute("SELECT payload FROM events WHERE account_id = 'pm-claude'"
                            " AND kind = 'pitch'").fetchone()
    changed = payload.replace('"conviction": ', '"conviction":  ', 1)  # one byte: a space
    db.execute("UPDATE events SET payload = ? WHERE account_id = 'pm-claude' AND kind = 'pitch'",
               (changed,))
    code, out = cli("verify", "--data-dir", str(tmp_path))
    assert code == 1
    assert out.startswith(f"BROKEN: week {WEEK}, account pm-claude, pitch: ")


def test_the_seal_is_archived_under_object_lock(services: Services) -> None:
    run_workflow(WEEKLY, {"week_id": WEEK}, services)
    from llmtrade.adapters.store.seals import S3SealArchive

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="seals", ObjectLockEnabledForBucket=True)
        payload: dict[str, Any] = {"action": "seal", "run": {"week_id": WEEK}}
        assert archive_seal(services, {"action": "execute"}, lambda: S3SealArchive("seals")) is None
        key = archive_seal(services, payload, lambda: S3SealArchive("seals"))
        assert key == f"seals/{WEEK}.json"
        stored = Seal.model_validate_json(s3.get_object(Bucket="seals", Key=key)["Body"].read())
        assert stored == services.events.get(Seal, WEEK, SHARED_ACCOUNT)
        head = s3.head_object(Bucket="seals", Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"].year >= seal_year() + 4
        with pytest.raises(ClientError):  # nobody deletes a locked version
            s3.delete_object(Bucket="seals", Key=key, VersionId=head["VersionId"])


def seal_year() -> int:
    return datetime.now(UTC).year

