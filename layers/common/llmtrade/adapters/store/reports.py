"""Where the HTML reports go: a local folder, or a private S3 bucket read through presigned URLs.

S3: the object is private (the bucket blocks public access and encrypts by default: that is the
bucket's configuration, not the upload's); a person opens it through a presigned GET URL. SigV4
presigned URLs last at most 7 days (604800 s), and one signed with temporary credentials (a Lambda
role's) stops working when those credentials expire, whatever ExpiresIn says.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's limit
HTML = "text/html; charset=utf-8"


class ReportStore(Protocol):
    def publish(self, key: str, html: str) -> str:
        """Store the page under `key` (e.g. `weeks/2026-11-25.html`).

        Returns a URL a person can open."""


class LocalReportStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def publish(self, key: str, html: str) -> str:
        path = (self.folder / key).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise ValueError(f"report key {key!r} leaves {self.folder}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        return path.as_uri()


class S3ReportStore:
    def __init__(self, bucket: str, *, prefix: str = "reports/",
                 expires_seconds: int = MAX_PRESIGN_SECONDS, client: Any = None) -> None:
        if not 0 < expires_seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"a presigned URL lasts 1 to {MAX_PRESIGN_SECONDS} seconds,"
                             f" not {expires_seconds}")
        if client is None:
            import boto3
            from botocore.config import Config

            # SigV4 explicitly: botocore may still presign S3 URLs with SigV2, which AWS is retiring
            client = boto3.client("s3", config=Config(signature_version="s3v4"))
        self.bucket, self.prefix, self.expires_seconds, self._s3 = (
            bucket, prefix, expires_seconds, client)

    def publish(self, key: str, html: str) -> str:
        object_key = self.prefix + key
        self._s3.put_object(Bucket=self.bucket, Key=object_key, Body=html.encode("utf-8"),
                            ContentType=HTML, CacheControl="no-store")
        return str(self._s3.generate_presigned_url("get_object",
                                                   Params={"Bucket": self.bucket,
                                                           "Key": object_key},
                                                   ExpiresIn=self.expires_seconds))


def report_store_from_environment() -> ReportStore | None:
    """S3 when REPORT_BUCKET is set (in the Lambdas), else None: no report is published."""
    bucket = os.environ.get("REPORT_BUCKET")
    return S3ReportStore(bucket) if bucket else None
