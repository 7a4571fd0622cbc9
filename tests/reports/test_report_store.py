"""Publishing reports: a local folder, and a private S3 bucket read through a presigned URL
(moto)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from llmtrade.adapters.store.reports import (
    MAX_PRESIGN_SECONDS,
    LocalReportStore,
    S3ReportStore,
    report_store_from_environment,
)
from llmtrade.config import Settings
from llmtrade.entrypoints.after_step import publish_leaderboard, publish_week_report
from llmtrade.reports import week_report_html
from llmtrade.services import Services
from moto import mock_aws

from tests.reports.conftest import WEEKS

BUCKET = "llmtrade-reports-test"


def test_week_report_is_put_in_s3_and_linked_by_a_presigned_url(replay: tuple[Path, Services],
                                                                settings: Settings) -> None:
    _, services = replay
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        url = publish_week_report(services, WEEKS[0], S3ReportStore(BUCKET, expires_seconds=3600))
        stored = s3.get_object(Bucket=BUCKET, Key=f"reports/weeks/{WEEKS[0]}.html")
        assert stored["Body"].read().decode() == week_report_html(services.store, settings,
                                                                  WEEKS[0])
        assert stored["ContentType"] == "text/html; charset=utf-8"
        board = publish_leaderboard(services, S3ReportStore(BUCKET))
        assert s3.head_object(Bucket=BUCKET, Key="reports/leaderboard.html")["ContentLength"] > 0
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "https" and parts.path.endswith(f"reports/weeks/{WEEKS[0]}.html")
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    assert parse_qs(urlsplit(board).query)["X-Amz-Expires"] == [str(MAX_PRESIGN_SECONDS)]


def test_presigned_urls_cannot_outlive_sigv4() -> None:
    with pytest.raises(ValueError, match="1 to 604800 seconds"):
        S3ReportStore(BUCKET, client=object(), expires_seconds=MAX_PRESIGN_SECONDS + 1)


def test_local_store_writes_under_its_folder_only(tmp_path: Path) -> None:
    store = LocalReportStore(tmp_path)
    url = store.publish("weeks/2026-11-11.html", "<p>hi</p>")
    assert url == (tmp_path / "weeks" / "2026-11-11.html").resolve().as_uri()
    assert (tmp_path / "weeks" / "2026-11-11.html").read_text() == "<p>hi</p>"
    with pytest.raises(ValueError, match="leaves"):
        store.publish("../outside.html", "x")


def test_the_bucket_comes_from_report_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPORT_BUCKET", raising=False)
    assert report_store_from_environment() is None
    monkeypatch.setenv("REPORT_BUCKET", BUCKET)
    store = report_store_from_environment()
    assert isinstance(store, S3ReportStore) and store.bucket == BUCKET
