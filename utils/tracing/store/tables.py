"""Content-addressed table storage: rows of Datasets and Tables, and table versions.

Digests are computed with weave's own digest helpers, so a row or table has the same
digest here as the client would compute, and re-publishing identical data is a no-op.
A table is an ordered list of row digests; rows are stored once per project however many
table versions share them (appending to a Dataset stores only the new rows).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from weave.trace.errors import DigestMismatchError, NotFoundError
from weave.trace.serialization.digest import (
    compute_row_digest,
    compute_table_digest,
)
from weave.vendor.weave_server_sdk.types import (
    TableCreateFromDigestsResponse,
    TableCreateResponse,
    TableQueryResponse,
    TableQueryStatsBatchResponse,
    TableQueryStatsResponse,
    TableUpdateResponse,
)
from weave.vendor.weave_server_sdk.types.table_query_response import Row
from weave.vendor.weave_server_sdk.types.table_query_stats_batch_response import Table

from utils.tracing.store.convert import dumps, loads
from utils.tracing.store.db import Database
from utils.tracing.store.query import Operand, compile_order, compile_page, json_field


def _row_field(name: str) -> Operand:
    """Sort fields of table rows are dotted paths into the row value."""
    return json_field("r.val", name)


class TableStore:
    """table_* protocol methods."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- tables
    def _put_rows(
        self, conn: sqlite3.Connection, project_id: str, rows: Sequence[Any]
    ) -> list[str]:
        digests = [compute_row_digest(row) for row in rows]
        conn.executemany(
            "INSERT OR IGNORE INTO table_rows (project_id, digest, val) VALUES (?, ?, ?)",
            [(project_id, d, dumps(row)) for d, row in zip(digests, rows, strict=True)],
        )
        return digests

    def _put_table(self, conn: sqlite3.Connection, project_id: str, row_digests: list[str]) -> str:
        digest = compute_table_digest(row_digests)
        conn.execute(
            "INSERT OR IGNORE INTO tables (project_id, digest, row_digests) VALUES (?, ?, ?)",
            (project_id, digest, dumps(row_digests)),
        )
        return digest

    def row_digests(self, conn: sqlite3.Connection, project_id: str, digest: str) -> list[str]:
        row = conn.execute(
            "SELECT row_digests FROM tables WHERE project_id = ? AND digest = ?",
            (project_id, digest),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"table {digest} not found in {project_id}")
        return loads(row[0])

    def create(self, req: Mapping[str, Any]) -> TableCreateResponse:
        table = req["table"]
        rows = list(table["rows"])
        with self._db.write() as conn:
            row_digests = self._put_rows(conn, table["project_id"], rows)
            digest = self._put_table(conn, table["project_id"], row_digests)
        expected = table.get("expected_digest")
        if expected and expected != digest:
            raise DigestMismatchError(f"table digest {digest} != expected {expected}")
        return TableCreateResponse(digest=digest, row_digests=row_digests)

    def create_from_digests(self, req: Mapping[str, Any]) -> TableCreateFromDigestsResponse:
        row_digests = list(req["row_digests"])
        with self._db.write() as conn:
            if row_digests:
                known = {
                    d
                    for (d,) in conn.execute(
                        "SELECT digest FROM table_rows WHERE project_id = ? AND digest IN "
                        "(SELECT value FROM json_each(?))",
                        (req["project_id"], dumps(row_digests)),
                    )
                }
                missing = [d for d in row_digests if d not in known]
                if missing:
                    raise NotFoundError(f"{len(missing)} table rows not found, e.g. {missing[0]}")
            digest = self._put_table(conn, req["project_id"], row_digests)
        return TableCreateFromDigestsResponse(digest=digest)

    def update(self, req: Mapping[str, Any]) -> TableUpdateResponse:
        """Apply append/pop/insert edits to a table version, creating a new version.

        `updated_row_digests` lists only the rows this update added, in order: the client
        extends its own list of row digests with it when uploading a table in chunks.
        """
        project_id = req["project_id"]
        with self._db.write() as conn:
            digests = self.row_digests(conn, project_id, req["base_digest"])
            added: list[str] = []
            for update in req["updates"]:
                if "append" in update:
                    (d,) = self._put_rows(conn, project_id, [update["append"]["row"]])
                    digests.append(d)
                    added.append(d)
                elif "pop" in update:
                    digests.pop(int(update["pop"]["index"]))
                elif "insert" in update:
                    spec = update["insert"]
                    (d,) = self._put_rows(conn, project_id, [spec["row"]])
                    digests.insert(int(spec["index"]), d)
                    added.append(d)
                else:
                    raise ValueError(f"unknown table update {update!r}")
            digest = self._put_table(conn, project_id, digests)
        return TableUpdateResponse(digest=digest, updated_row_digests=added)

    def _rows(self, req: Mapping[str, Any]) -> list[Row]:
        project_id = req["project_id"]
        conds = ["t.project_id = ?", "t.digest = ?"]
        params: list[Any] = [project_id, req["digest"]]
        wanted = (req.get("filter") or {}).get("row_digests")
        if wanted:
            conds.append("j.value IN (SELECT value FROM json_each(?))")
            params.append(dumps(list(wanted)))
        order, oparams = compile_order(req.get("sort_by"), _row_field, "j.key")
        sql = (
            "SELECT j.value, r.val, j.key FROM tables t, json_each(t.row_digests) j "
            "JOIN table_rows r ON r.project_id = t.project_id AND r.digest = j.value "
            f"WHERE {' AND '.join(conds)} ORDER BY {order}"
            f"{compile_page(req.get('limit'), req.get('offset'))}"
        )
        with self._db.snapshot() as conn:
            self.row_digests(conn, project_id, req["digest"])  # NotFoundError if absent
            rows = conn.execute(sql, params + oparams).fetchall()
        return [Row(digest=d, val=loads(v), original_index=i) for d, v, i in rows]

    def query(self, req: Mapping[str, Any]) -> TableQueryResponse:
        return TableQueryResponse(rows=self._rows(req))

    def query_stream(self, req: Mapping[str, Any]) -> Iterator[Row]:
        yield from self._rows(req)

    def stats(self, req: Mapping[str, Any]) -> TableQueryStatsResponse:
        with self._db.snapshot() as conn:
            count = len(self.row_digests(conn, req["project_id"], req["digest"]))
        return TableQueryStatsResponse(count=count)

    def stats_batch(self, req: Mapping[str, Any]) -> TableQueryStatsBatchResponse:
        tables = []
        with self._db.snapshot() as conn:
            for digest in req.get("digests") or []:
                count = len(self.row_digests(conn, req["project_id"], digest))
                tables.append(Table(digest=digest, count=count))
        return TableQueryStatsBatchResponse(tables=tables)

    def row(self, conn: sqlite3.Connection, project_id: str, digest: str) -> Any:
        found = conn.execute(
            "SELECT val FROM table_rows WHERE project_id = ? AND digest = ?", (project_id, digest)
        ).fetchone()
        if found is None:
            raise NotFoundError(f"table row {digest} not found in {project_id}")
        return loads(found[0])

    def all_rows(self, conn: sqlite3.Connection, project_id: str, digest: str) -> list[Any]:
        return [self.row(conn, project_id, d) for d in self.row_digests(conn, project_id, digest)]
