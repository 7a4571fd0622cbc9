"""Where a week's seal is archived in AWS: the seal bucket, under S3 Object Lock (compliance mode).

The object is put with its own retention as well as the bucket's default, so it cannot be
overwritten for good or deleted before its retention ends, by anyone. Object Lock puts must carry a
checksum: SHA-256 here.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from llmtrade.workflow import SEAL_PREFIX, SEAL_RETENTION_DAYS


class S3SealArchive:
    def __init__(self, bucket: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.bucket, self._s3 = bucket, client

    def put(self, week_id: str, text: str, now: datetime | None = None) -> str:
        """Archive the seal's JSON under seals/<week_id>.json; its key. A second put (a rerun)
        adds a version: the first one stays locked."""
        key = f"{SEAL_PREFIX}{week_id}.json"
        until = (now or datetime.now(UTC)) + timedelta(days=SEAL_RETENTION_DAYS)
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=text.encode(),
                            ContentType="application/json", ChecksumAlgorithm="SHA256",
                            ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
        return key


def seal_archive_from_environment() -> S3SealArchive | None:
    """S3 when SEAL_BUCKET is set (the function that seals), else None: nothing is archived."""
    bucket = os.environ.get("SEAL_BUCKET")
    return S3SealArchive(bucket) if bucket else None
