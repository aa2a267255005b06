"""Versioned objects (ops, Datasets, Models, Prompts, anything `weave.publish`ed), their tags
and aliases, and ref resolution (`weave.ref("name:v0").get()`, Dataset rows by ref).

Versioning follows the real server: an object version is identified by the digest of its
content, re-publishing identical content returns the existing version, and each new digest
gets the next `version_index` (v0, v1, ...). A version can be addressed as its digest,
`latest`, `vN` or an alias.

Tags label a *version* (many per version). Aliases name *one* version of an object at a time
(`production`, `staging`): setting an alias moves it. `latest` is a virtual alias of the
newest version and cannot be set by hand. This is what chapter 05's local registry workflow
(promote by moving an alias, roll back by moving it again) runs on.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from weave.trace.errors import DigestMismatchError, NotFoundError, ObjectDeletedError
from weave.trace.refs import CallRef, ObjectRef, Ref, TableRef
from weave.trace.serialization.digest import compute_object_digest_result
from weave.vendor.weave_server_sdk.types import (
    ObjectCreateResponse,
    ObjectDeleteResponse,
    ObjectQueryResponse,
    ObjectReadResponse,
    RefReadBatchResponse,
)
from weave.vendor.weave_server_sdk.types.object_delete_response import DeletedVersion
from weave.vendor.weave_server_sdk.types.object_query_response import Obj as QueryObj
from weave.vendor.weave_server_sdk.types.object_read_response import Obj as ReadObj
from weave.vendor.weave_server_sdk.types.objects import AliasListResponse, TagListResponse

from utils.tracing.store.convert import REF_PREFIX, from_us, loads, now_us
from utils.tracing.store.db import Database, marks
from utils.tracing.store.query import Kind, compile_order, compile_page, table_resolver
from utils.tracing.store.tables import TableStore

LATEST = "latest"
_VERSION = re.compile(r"^v(\d+)$")

IS_LATEST_SQL = (
    "(o.deleted_at IS NULL AND o.version_index = (SELECT MAX(o2.version_index) FROM objects o2 "
    "WHERE o2.project_id = o.project_id AND o2.object_id = o.object_id "
    "AND o2.deleted_at IS NULL))"
)
_COLUMNS = (
    "project_id",
    "object_id",
    "digest",
    "kind",
    "base_object_class",
    "leaf_object_class",
    "val",
    "created_at",
    "version_index",
    "wb_user_id",
    "deleted_at",
)
SELECT_SQL = f"SELECT {', '.join('o.' + c for c in _COLUMNS)}, {IS_LATEST_SQL} FROM objects o"
_SORTABLE: dict[str, Kind] = {
    "object_id": "text",
    "created_at": "time",
    "version_index": "number",
    "digest": "text",
    "kind": "text",
    "base_object_class": "text",
    "leaf_object_class": "text",
}
_sort_field = table_resolver(_SORTABLE, {}, alias="o")


def _object_kind(val: Any) -> str:
    """`op` for serialized ops (the client filters on it with `is_op`), else `object`."""
    if (
        isinstance(val, dict)
        and val.get("_type") == "CustomWeaveType"
        and (val.get("weave_type") or {}).get("type") == "Op"
    ):
        return "op"
    return "object"


def check_alias(alias: str) -> None:
    """Aliases must not shadow the names a version can already be addressed by."""
    if not alias or not alias.strip():
        raise ValueError("an alias must be a non-empty string")
    if alias == LATEST or _VERSION.match(alias):
        raise ValueError(f"{alias!r} is reserved (latest and vN already address versions)")
    if "/" in alias or ":" in alias:
        raise ValueError(f"alias {alias!r} may not contain '/' or ':' (it goes in a ref)")


class ObjectStore:
    """obj_* and tag/alias protocol methods, plus `refs_read_batch`."""

    def __init__(
        self,
        db: Database,
        tables: TableStore,
        read_call: Callable[[str, str], Any],
        user_id: str,
    ) -> None:
        self._db = db
        self._tables = tables
        self._read_call = read_call
        self._user_id = user_id

    # -- versions
    def create(self, req: Mapping[str, Any]) -> ObjectCreateResponse:
        obj = req["obj"]
        result = compute_object_digest_result(obj["val"], obj.get("builtin_object_class"))
        expected = obj.get("expected_digest")
        if expected and expected != result.digest:
            raise DigestMismatchError(f"object digest {result.digest} != expected {expected}")
        key = (obj["project_id"], obj["object_id"], result.digest)
        with self._db.write() as conn:
            found = conn.execute(
                "SELECT deleted_at FROM objects WHERE project_id = ? AND object_id = ? "
                "AND digest = ?",
                key,
            ).fetchone()
            if found is None:
                (next_index,) = conn.execute(
                    "SELECT COALESCE(MAX(version_index) + 1, 0) FROM objects "
                    "WHERE project_id = ? AND object_id = ?",
                    key[:2],
                ).fetchone()
                conn.execute(
                    f"INSERT INTO objects ({', '.join(_COLUMNS)}) VALUES ({marks(_COLUMNS)})",
                    (
                        *key,
                        _object_kind(result.processed_val),
                        result.base_object_class,
                        result.leaf_object_class,
                        result.json_val,
                        now_us(),
                        next_index,
                        obj.get("wb_user_id") or self._user_id,
                        None,
                    ),
                )
            elif found[0] is not None:  # publishing deleted content again restores it
                conn.execute(
                    "UPDATE objects SET deleted_at = NULL WHERE project_id = ? "
                    "AND object_id = ? AND digest = ?",
                    key,
                )
        return ObjectCreateResponse(digest=result.digest, object_id=obj["object_id"])

    def _resolve(
        self, conn: sqlite3.Connection, project_id: str, object_id: str, version: str
    ) -> tuple:
        """A version (digest, latest, vN or alias) -> its row (SELECT_SQL columns)."""
        base = f"{SELECT_SQL} WHERE o.project_id = ? AND o.object_id = ?"
        args: tuple = (project_id, object_id)
        if version == LATEST:
            row = conn.execute(
                f"{base} AND o.deleted_at IS NULL ORDER BY o.version_index DESC LIMIT 1", args
            ).fetchone()
        elif match := _VERSION.match(version):
            row = conn.execute(f"{base} AND o.version_index = ?", (*args, int(match[1]))).fetchone()
        else:
            row = conn.execute(f"{base} AND o.digest = ?", (*args, version)).fetchone()
            if row is None:
                row = conn.execute(
                    f"{base} AND o.digest = (SELECT digest FROM object_aliases WHERE "
                    "project_id = ? AND object_id = ? AND alias = ?)",
                    (*args, project_id, object_id, version),
                ).fetchone()
        if row is None:
            raise NotFoundError(f"object {object_id}:{version} not found in {project_id}")
        if row[10] is not None:
            raise ObjectDeletedError(f"object {object_id}:{version} was deleted", from_us(row[10]))
        return row

    def _labels(
        self, conn: sqlite3.Connection, rows: Sequence[tuple]
    ) -> dict[tuple[str, str, str], tuple[list[str], list[str]]]:
        """(tags, aliases) for each version row; `latest` is added to the newest version."""
        out: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {}
        for row in rows:
            key = (row[0], row[1], row[2])
            tags = [
                t
                for (t,) in conn.execute(
                    "SELECT tag FROM object_tags WHERE project_id = ? AND object_id = ? "
                    "AND digest = ? ORDER BY tag",
                    key,
                )
            ]
            aliases = [
                a
                for (a,) in conn.execute(
                    "SELECT alias FROM object_aliases WHERE project_id = ? AND object_id = ? "
                    "AND digest = ? ORDER BY alias",
                    key,
                )
            ]
            if row[11]:
                aliases.append(LATEST)
            out[key] = (tags, aliases)
        return out

    @staticmethod
    def _model(
        cls: type[ReadObj] | type[QueryObj],
        row: tuple,
        metadata_only: bool,
        labels: tuple[list[str], list[str]] | None,
    ) -> Any:
        fields = dict(zip(_COLUMNS, row[:11], strict=True))
        fields["val"] = {} if metadata_only else loads(fields["val"])
        fields["created_at"] = from_us(fields["created_at"])
        fields["deleted_at"] = from_us(fields["deleted_at"])
        fields["is_latest"] = int(bool(row[11]))
        if labels is not None:
            fields["tags"], fields["aliases"] = labels
        return cls(**fields)

    def read(self, req: Mapping[str, Any]) -> ObjectReadResponse:
        with self._db.snapshot() as conn:
            row = self._resolve(conn, req["project_id"], req["object_id"], req["digest"])
            labels = self._labels(conn, [row]) if req.get("include_tags_and_aliases") else None
        return ObjectReadResponse(
            obj=self._model(
                ReadObj,
                row,
                bool(req.get("metadata_only")),
                labels[(row[0], row[1], row[2])] if labels else None,
            )
        )

    def query(self, req: Mapping[str, Any]) -> ObjectQueryResponse:
        flt = req.get("filter") or {}
        conds = ["o.project_id = ?", "o.deleted_at IS NULL"]
        params: list[Any] = [req["project_id"]]

        def among(column: str, values: Sequence[str] | None, negate: bool = False) -> None:
            if values is None:
                return
            values = list(values)
            if values:
                conds.append(f"o.{column} {'NOT ' if negate else ''}IN ({marks(values)})")
            elif not negate:
                conds.append("0")
            params.extend(values)

        among("object_id", flt.get("object_ids"))
        among("base_object_class", flt.get("base_object_classes"))
        among("leaf_object_class", flt.get("leaf_object_classes"))
        if flt.get("exclude_base_object_classes"):
            excluded = list(flt["exclude_base_object_classes"])
            conds.append(
                f"(o.base_object_class IS NULL OR o.base_object_class NOT IN ({marks(excluded)}))"
            )
            params.extend(excluded)
        if flt.get("is_op") is not None:
            conds.append("o.kind = ?")
            params.append("op" if flt["is_op"] else "object")
        if flt.get("latest_only"):
            conds.append(IS_LATEST_SQL)
        if flt.get("tags"):
            tags = list(flt["tags"])
            conds.append(
                "EXISTS (SELECT 1 FROM object_tags t WHERE t.project_id = o.project_id AND "
                "t.object_id = o.object_id AND t.digest = o.digest AND t.tag IN "
                f"({marks(tags)}))"
            )
            params.extend(tags)
        if flt.get("aliases"):
            aliases = list(flt["aliases"])
            latest = f" OR {IS_LATEST_SQL}" if LATEST in aliases else ""
            conds.append(
                "(EXISTS (SELECT 1 FROM object_aliases a WHERE a.project_id = o.project_id AND "
                "a.object_id = o.object_id AND a.digest = o.digest AND a.alias IN "
                f"({marks(aliases)})){latest})"
            )
            params.extend(aliases)
        order, oparams = compile_order(
            req.get("sort_by"), _sort_field, "o.object_id, o.version_index"
        )
        sql = (
            f"{SELECT_SQL} WHERE {' AND '.join(conds)} ORDER BY {order}"
            f"{compile_page(req.get('limit'), req.get('offset'))}"
        )
        with self._db.snapshot() as conn:
            rows = conn.execute(sql, params + oparams).fetchall()
            labels = self._labels(conn, rows) if req.get("include_tags_and_aliases") else None
        metadata_only = bool(req.get("metadata_only"))
        return ObjectQueryResponse(
            objs=[
                self._model(
                    QueryObj, r, metadata_only, labels[(r[0], r[1], r[2])] if labels else None
                )
                for r in rows
            ]
        )

    def delete(self, req: Mapping[str, Any]) -> ObjectDeleteResponse:
        project_id, object_id = req["project_id"], req["object_id"]
        with self._db.write() as conn:
            if req.get("digests"):
                rows = [self._resolve(conn, project_id, object_id, d) for d in req["digests"]]
            else:
                rows = conn.execute(
                    f"{SELECT_SQL} WHERE o.project_id = ? AND o.object_id = ? "
                    "AND o.deleted_at IS NULL",
                    (project_id, object_id),
                ).fetchall()
                if not rows:
                    raise NotFoundError(f"object {object_id} not found in {project_id}")
            now = now_us()
            for row in rows:
                key = (project_id, object_id, row[2])
                conn.execute(
                    "UPDATE objects SET deleted_at = ? WHERE project_id = ? AND object_id = ? "
                    "AND digest = ?",
                    (now, *key),
                )
                # An alias must never point at a deleted version.
                conn.execute(
                    "DELETE FROM object_aliases WHERE project_id = ? AND object_id = ? "
                    "AND digest = ?",
                    key,
                )
        return ObjectDeleteResponse(
            num_deleted=len(rows),
            deleted_versions=[
                DeletedVersion(digest=r[2], base_object_class=r[4], leaf_object_class=r[5])
                for r in rows
            ],
        )

    # -- tags and aliases
    def add_tags(self, req: Mapping[str, Any]) -> None:
        tags = [str(t) for t in req["tags"]]
        if any(not t.strip() for t in tags):
            raise ValueError("tags must be non-empty strings")
        with self._db.write() as conn:
            row = self._resolve(conn, req["project_id"], req["object_id"], req["digest"])
            conn.executemany(
                "INSERT OR IGNORE INTO object_tags (project_id, object_id, digest, tag) "
                "VALUES (?, ?, ?, ?)",
                [(row[0], row[1], row[2], t) for t in tags],
            )

    def remove_tags(self, req: Mapping[str, Any]) -> None:
        with self._db.write() as conn:
            row = self._resolve(conn, req["project_id"], req["object_id"], req["digest"])
            conn.executemany(
                "DELETE FROM object_tags WHERE project_id = ? AND object_id = ? AND digest = ? "
                "AND tag = ?",
                [(row[0], row[1], row[2], t) for t in req["tags"]],
            )

    def set_aliases(self, req: Mapping[str, Any]) -> None:
        aliases = [str(a) for a in req["aliases"]]
        for alias in aliases:
            check_alias(alias)
        with self._db.write() as conn:
            row = self._resolve(conn, req["project_id"], req["object_id"], req["digest"])
            conn.executemany(
                "INSERT INTO object_aliases (project_id, object_id, alias, digest) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(project_id, object_id, alias) "
                "DO UPDATE SET digest = excluded.digest",
                [(row[0], row[1], a, row[2]) for a in aliases],
            )

    def remove_aliases(self, req: Mapping[str, Any]) -> None:
        with self._db.write() as conn:
            conn.executemany(
                "DELETE FROM object_aliases WHERE project_id = ? AND object_id = ? AND alias = ?",
                [(req["project_id"], req["object_id"], a) for a in req["aliases"]],
            )

    def tags_list(self, req: Mapping[str, Any]) -> TagListResponse:
        rows = self._db.query(
            "SELECT DISTINCT t.tag FROM object_tags t JOIN objects o ON o.project_id = "
            "t.project_id AND o.object_id = t.object_id AND o.digest = t.digest "
            "WHERE t.project_id = ? AND o.deleted_at IS NULL ORDER BY t.tag",
            (req["project_id"],),
        )
        return TagListResponse(tags=[t for (t,) in rows])

    def aliases_list(self, req: Mapping[str, Any]) -> AliasListResponse:
        rows = self._db.query(
            "SELECT DISTINCT alias FROM object_aliases WHERE project_id = ? ORDER BY alias",
            (req["project_id"],),
        )
        return AliasListResponse(aliases=[a for (a,) in rows])

    # -- refs
    def read_refs(self, req: Mapping[str, Any]) -> RefReadBatchResponse:
        with self._db.snapshot() as conn:
            return RefReadBatchResponse(vals=[self._read_ref(conn, uri) for uri in req["refs"]])

    def _read_ref(self, conn: sqlite3.Connection, uri: str) -> Any:
        ref = Ref.parse_uri(uri)
        project_id = f"{ref.entity}/{ref.project}"
        if isinstance(ref, ObjectRef):  # includes OpRef
            row = self._resolve(conn, project_id, ref.name, ref.digest)
            return self._walk(conn, project_id, loads(row[6]), list(ref.extra))
        if isinstance(ref, TableRef):
            return self._tables.all_rows(conn, project_id, ref.digest)
        if isinstance(ref, CallRef):
            call = self._read_call(project_id, ref.id)
            if call is None:
                raise NotFoundError(f"call {ref.id} not found in {project_id}")
            return self._walk(conn, project_id, call.model_dump(mode="json"), list(ref.extra))
        raise NotImplementedError(f"the local trace store cannot read {type(ref).__name__} refs")

    def _walk(self, conn: sqlite3.Connection, project_id: str, val: Any, extra: list[str]) -> Any:
        """Follow a ref's extra path (attr/key/index/id pairs), dereferencing refs on the way."""
        for kind, key in zip(extra[::2], extra[1::2], strict=True):
            if isinstance(val, str) and val.startswith(REF_PREFIX):
                inner = Ref.parse_uri(val)
                if isinstance(inner, TableRef) and kind in ("id", "index"):
                    digests = self._tables.row_digests(conn, project_id, inner.digest)
                    val = self._tables.row(
                        conn, project_id, key if kind == "id" else digests[int(key)]
                    )
                    continue
                val = self._read_ref(conn, val)
            if kind in ("attr", "key"):
                val = val.get(key) if isinstance(val, dict) else None
            elif kind == "index":
                val = val[int(key)]
            elif kind == "id":
                val = self._tables.row(conn, project_id, key)
            else:
                raise NotImplementedError(f"ref path element {kind!r} in the local trace store")
        return val
