"""`LocalTraceServer`: weave's trace-server protocol on a SQLite file.

weave 0.54 has no local mode: `weave.init` always authenticates with W&B, and the SQLite
trace server is no longer in the wheel. The client itself, `WeaveClient`, only needs an
object with the methods of `weave.trace_server_bindings.client_interface.
TraceServerClientInterface` (requests are dicts, responses are the pydantic models in
`weave.vendor.weave_server_sdk.types`). This class is that object: ops, calls, objects,
tables, files, refs, feedback, costs, tags and aliases, in one file on disk.

The protocol is internal to weave and changes between releases, so the store is pinned:
`SUPPORTED_WEAVE` is the version it was written against, and
`tests/tracing/test_tracing_conformance.py` drives every feature through the real client so an
upgrade that changes the protocol fails CI rather than a learner's notebook.
Protocol methods not implemented here raise `NotImplementedError` naming the method.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from weave.trace_server_bindings.client_interface import TraceServerClientInterface
from weave.trace_server_bindings.models import (
    CallsQueryRes,
    EnsureProjectExistsRes,
    FileContentReadRes,
)
from weave.vendor.weave_server_sdk.types import (
    CallDeleteResponse,
    CallQueryStatsResponse,
    CallReadResponse,
    CallStartResponse,
    CallUpsertBatchResponse,
    CostCreateResponse,
    CostQueryResponse,
    FeedbackBatchCreateResponse,
    FeedbackCreateResponse,
    FeedbackQueryResponse,
    FeedbackReplaceResponse,
    FileCreateResponse,
    FileStatsResponse,
    ObjectCreateResponse,
    ObjectDeleteResponse,
    ObjectQueryResponse,
    ObjectReadResponse,
    RefReadBatchResponse,
    ServerInfoRes,
    TableCreateFromDigestsResponse,
    TableCreateResponse,
    TableQueryResponse,
    TableQueryStatsBatchResponse,
    TableQueryStatsResponse,
    TableUpdateResponse,
)
from weave.vendor.weave_server_sdk.types.call_read_response import Call
from weave.vendor.weave_server_sdk.types.call_upsert_batch_response import ReCallStartRes
from weave.vendor.weave_server_sdk.types.objects import AliasListResponse, TagListResponse
from weave.vendor.weave_server_sdk.types.table_query_response import Row
from weave.version import VERSION as WEAVE_VERSION

from utils.tracing.pin import SUPPORTED_WEAVE
from utils.tracing.store.calls import CallReader
from utils.tracing.store.costs import Costs
from utils.tracing.store.db import Database
from utils.tracing.store.feedback import FeedbackStore
from utils.tracing.store.files import FileStore
from utils.tracing.store.objects import ObjectStore
from utils.tracing.store.tables import TableStore
from utils.tracing.store.writer import BATCH_DELAY_S, CallWriter

LOCAL_USER = "local-user"

PROTOCOL_METHODS = frozenset(
    name
    for name, value in vars(TraceServerClientInterface).items()
    if callable(value) and not name.startswith("_")
)

# Strong references on purpose: a store dropped without close() must still be flushed at exit.
_open_servers: set[LocalTraceServer] = set()


@atexit.register
def _flush_all_at_exit() -> None:
    """Commit buffered calls of every open store when the interpreter exits.

    Stores are not closed: exit handlers that run after this one (weave finishing an
    EvaluationLogger) may still write, and the stopped writer then commits synchronously.
    """
    for server in list(_open_servers):
        server.stop_background_writer()


def _new_id() -> str:
    from weave.utils.ids import generate_id

    return generate_id()


class LocalTraceServer:
    """The trace-server protocol, stored in one SQLite file (see the module docstring)."""

    def __init__(
        self, path: Path | str, user_id: str = LOCAL_USER, batch_delay_s: float = BATCH_DELAY_S
    ) -> None:
        self.path = Path(path)
        self.user_id = user_id
        self._db = Database(path)
        self._db.set_meta("weave_version", WEAVE_VERSION)
        self._writer = CallWriter(self._db, delay_s=batch_delay_s)
        self._feedback = FeedbackStore(self._db, user_id)
        self._costs = Costs(self._db)
        self._calls = CallReader(self._db, self._writer, self._feedback, self._costs)
        self._tables = TableStore(self._db)
        self._files = FileStore(self._db)
        self._objects = ObjectStore(self._db, self._tables, self._calls.read, user_id)
        self._closed = False
        self._close_lock = threading.Lock()
        _open_servers.add(self)

    def __repr__(self) -> str:
        return f"LocalTraceServer({self.path.name!r})"

    # ------------------------------------------------------------------ lifecycle
    @property
    def closed(self) -> bool:
        return self._closed

    def flush(self) -> None:
        """Commit buffered calls now (reads do this themselves)."""
        self._writer.flush()

    def stop_background_writer(self) -> None:
        """Commit buffered calls and write synchronously from now on (used at exit)."""
        self._writer.close()

    def close(self) -> None:
        """Commit buffered calls and close the file. Safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._writer.close()
        self._db.close()
        _open_servers.discard(self)

    def get_feedback_processor(self) -> CallWriter:
        """Hook the weave client probes for: it drains this on `flush()` and `finish()`.

        (The client names it after the HTTP server's feedback batcher; any object with
        `num_outstanding_jobs`, `stop_accepting_new_work_and_flush_queue` and
        `accept_new_work` works, and our call batcher is the thing that needs draining.)
        """
        return self._writer

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not defined above. The client probes optional hooks with
        # hasattr (call_processor, _next_trace_server, remote_request_bytes_limit): those
        # must raise AttributeError. Protocol methods we lack fail loudly when called.
        if name in PROTOCOL_METHODS:

            def unsupported(*args: Any, **kwargs: Any) -> Any:
                raise NotImplementedError(
                    f"the course's local trace store does not implement {name}() "
                    f"(written against weave {SUPPORTED_WEAVE}); run this cell in online mode"
                )

            return unsupported
        raise AttributeError(name)

    # ------------------------------------------------------------------ service
    def server_info(self) -> ServerInfoRes:
        return ServerInfoRes(
            min_required_weave_python_version="0.0.0",
            trace_server_version=f"course-local-sqlite ({SUPPORTED_WEAVE})",
        )

    def ensure_project_exists(self, entity: str, project: str) -> EnsureProjectExistsRes:
        return EnsureProjectExistsRes(project_name=project)

    # ------------------------------------------------------------------ calls
    def call_start(self, req: Mapping[str, Any]) -> CallStartResponse:
        start = req["start"]
        call_id = start.get("id") or _new_id()
        trace_id = start.get("trace_id") or _new_id()
        self._writer.add_start(start, call_id, trace_id, self.user_id)
        return CallStartResponse(id=call_id, trace_id=trace_id)

    def call_end(self, req: Mapping[str, Any]) -> None:
        self._writer.add_end(req["end"])

    def call_start_batch(self, req: Mapping[str, Any]) -> CallUpsertBatchResponse:
        results: list[Any] = []
        for item in req["batch"]:
            if item.get("mode", "start") == "start" and "start" in item["req"]:
                res = self.call_start(item["req"])
                results.append(ReCallStartRes(id=res.id, trace_id=res.trace_id))
            else:
                self.call_end(item["req"])
                results.append(None)
        return CallUpsertBatchResponse(res=results)

    def call_update(self, req: Mapping[str, Any]) -> None:
        if "display_name" in req:
            self._writer.add_display_name(req["call_id"], req["project_id"], req["display_name"])

    def call_read(self, req: Mapping[str, Any]) -> CallReadResponse:
        return CallReadResponse(call=self._calls.read(req["project_id"], req["id"]))

    def calls_query(self, req: Mapping[str, Any]) -> CallsQueryRes:
        return CallsQueryRes(calls=self._calls.query(req))

    def calls_query_stream(self, req: Mapping[str, Any]) -> Iterator[Call]:
        return self._calls.stream(req)

    def calls_query_stats(self, req: Mapping[str, Any]) -> CallQueryStatsResponse:
        return CallQueryStatsResponse(count=self._calls.count(req))

    def calls_delete(self, req: Mapping[str, Any]) -> CallDeleteResponse:
        return CallDeleteResponse(
            num_deleted=self._calls.delete(req["project_id"], req["call_ids"])
        )

    # ------------------------------------------------------------------ objects
    def obj_create(self, req: Mapping[str, Any]) -> ObjectCreateResponse:
        return self._objects.create(req)

    def obj_read(self, req: Mapping[str, Any]) -> ObjectReadResponse:
        return self._objects.read(req)

    def objs_query(self, req: Mapping[str, Any]) -> ObjectQueryResponse:
        return self._objects.query(req)

    def obj_delete(self, req: Mapping[str, Any]) -> ObjectDeleteResponse:
        return self._objects.delete(req)

    def obj_add_tags(self, req: Mapping[str, Any]) -> None:
        self._objects.add_tags(req)

    def obj_remove_tags(self, req: Mapping[str, Any]) -> None:
        self._objects.remove_tags(req)

    def obj_set_aliases(self, req: Mapping[str, Any]) -> None:
        self._objects.set_aliases(req)

    def obj_remove_aliases(self, req: Mapping[str, Any]) -> None:
        self._objects.remove_aliases(req)

    def tags_list(self, req: Mapping[str, Any]) -> TagListResponse:
        return self._objects.tags_list(req)

    def aliases_list(self, req: Mapping[str, Any]) -> AliasListResponse:
        return self._objects.aliases_list(req)

    def refs_read_batch(self, req: Mapping[str, Any]) -> RefReadBatchResponse:
        return self._objects.read_refs(req)

    # ------------------------------------------------------------------ tables and files
    def table_create(self, req: Mapping[str, Any]) -> TableCreateResponse:
        return self._tables.create(req)

    def table_create_from_digests(self, req: Mapping[str, Any]) -> TableCreateFromDigestsResponse:
        return self._tables.create_from_digests(req)

    def table_update(self, req: Mapping[str, Any]) -> TableUpdateResponse:
        return self._tables.update(req)

    def table_query(self, req: Mapping[str, Any]) -> TableQueryResponse:
        return self._tables.query(req)

    def table_query_stream(self, req: Mapping[str, Any]) -> Iterator[Row]:
        return self._tables.query_stream(req)

    def table_query_stats(self, req: Mapping[str, Any]) -> TableQueryStatsResponse:
        return self._tables.stats(req)

    def table_query_stats_batch(self, req: Mapping[str, Any]) -> TableQueryStatsBatchResponse:
        return self._tables.stats_batch(req)

    def file_create(self, req: Mapping[str, Any]) -> FileCreateResponse:
        return self._files.create(req)

    def file_content_read(self, req: Mapping[str, Any]) -> FileContentReadRes:
        return self._files.read(req)

    def files_stats(self, req: Mapping[str, Any]) -> FileStatsResponse:
        return self._files.stats(req)

    # ------------------------------------------------------------------ feedback and costs
    def feedback_create(self, req: Mapping[str, Any]) -> FeedbackCreateResponse:
        return self._feedback.create(req)

    def feedback_create_batch(self, req: Mapping[str, Any]) -> FeedbackBatchCreateResponse:
        return self._feedback.create_batch(req)

    def feedback_query(self, req: Mapping[str, Any]) -> FeedbackQueryResponse:
        return self._feedback.query(req)

    def feedback_purge(self, req: Mapping[str, Any]) -> None:
        self._feedback.purge(req)

    def feedback_replace(self, req: Mapping[str, Any]) -> FeedbackReplaceResponse:
        return self._feedback.replace(req)

    def cost_create(self, req: Mapping[str, Any]) -> CostCreateResponse:
        return self._costs.create(req)

    def cost_query(self, req: Mapping[str, Any]) -> CostQueryResponse:
        return self._costs.query(req)

    def cost_purge(self, req: Mapping[str, Any]) -> None:
        self._costs.purge(req)


IMPLEMENTED_METHODS = frozenset(name for name in PROTOCOL_METHODS if name in vars(LocalTraceServer))
