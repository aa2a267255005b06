"""Files (op source code, media, anything the client uploads as bytes), content-addressed.

A file is stored once per project under the digest weave's own helper computes, so the client's
"already uploaded?" check and a re-upload of the same bytes are no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weave.trace.errors import DigestMismatchError, NotFoundError
from weave.trace.serialization.digest import compute_file_digest
from weave.trace_server_bindings.models import FileContentReadRes
from weave.vendor.weave_server_sdk.types import FileCreateResponse, FileStatsResponse

from utils.tracing.store.db import Database


class FileStore:
    """file_create / file_content_read / files_stats."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, req: Mapping[str, Any]) -> FileCreateResponse:
        _name, content = req["file"][0], req["file"][1]
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode()
        digest = compute_file_digest(content)
        expected = req.get("expected_digest")
        if expected and expected != digest:
            raise DigestMismatchError(f"file digest {digest} != expected {expected}")
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO files (project_id, digest, content) VALUES (?, ?, ?)",
                (req["project_id"], digest, content),
            )
        return FileCreateResponse(digest=digest)

    def read(self, req: Mapping[str, Any]) -> FileContentReadRes:
        rows = self._db.query(
            "SELECT content FROM files WHERE project_id = ? AND digest = ?",
            (req["project_id"], req["digest"]),
        )
        if not rows:
            raise NotFoundError(f"file {req['digest']} not found in {req['project_id']}")
        return FileContentReadRes(content=bytes(rows[0][0]))

    def stats(self, req: Mapping[str, Any]) -> FileStatsResponse:
        (size,) = self._db.query(
            "SELECT COALESCE(SUM(length(content)), 0) FROM files WHERE project_id = ?",
            (req["project_id"],),
        )[0]
        return FileStatsResponse(total_size_bytes=int(size))
