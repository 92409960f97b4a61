"""A cosmos-run clip index: a LanceDB database holding a clip table, a skip table and a state table.

The state table (one row, rewritten as a new LanceDB version at each transition, so a kill leaves the
old row or the new one) says what the clip table holds: the format, the embedding dimension, the
fingerprint of the checkpoint and the preprocessing that produced the embeddings, the metadata
columns, and whether the last build finished. Search, dedup and filter refuse a database without it
(not a cosmos-run index) or one whose build did not finish; a rerun of the build completes it.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from cosmos_core.errors import UserInputError

from cosmos_embed.config import IndexConfig
from cosmos_embed.curation.deps import require

logger = logging.getLogger("cosmos.embed")

FORMAT = "cosmos-run-clip-index/1"
STATE_TABLE = "_cosmos_index_state"
SKIP_TABLE = "_cosmos_index_skipped"
BUILDING, COMPLETE = "building", "complete"

CORE_COLUMNS = (
    "id",
    "path",
    "start_sec",
    "end_sec",
    "chunk_index",
    "caption",
    "label",
    "file_size",
    "file_mtime_ns",
    "metadata",
    "fingerprint",
    "embedding",
)
RESERVED = {*CORE_COLUMNS, "query_index", "_distance", "_rowid"}
COLUMN_TYPES = ("bool", "int64", "float64", "string")
AUTO_ANN = "ivf_flat"
"""What ``index.ann: auto`` builds on a table of at least ``index.ann_min_rows`` rows (see ensure_ann)."""
ANN_REGROWTH = 4
"""A table this many times the rows its ANN index was trained on gets a new index: each of the old
~sqrt(rows) partitions then holds twice the rows a fresh index's would, and a probe scans them all."""


class ClipIndexError(UserInputError, ValueError):
    """An index that cannot be used as asked; the message names the URI and what to do."""


class NotAnIndexError(ClipIndexError):
    """The URI holds something that is not a cosmos-run index."""


class IndexMismatchError(ClipIndexError):
    """The index holds embeddings of another checkpoint, preprocessing or dimension."""


class IncompleteIndexError(ClipIndexError):
    """The last build of the index did not finish."""


@attrs.frozen
class IndexState:
    dim: int
    fingerprint: Mapping[str, Any]
    """``model`` (weights digest) and ``preprocessing`` (frames, resolution, decoder)."""
    columns: Mapping[str, str]
    """Metadata column name -> one of :data:`COLUMN_TYPES`."""
    ann: Mapping[str, Any] = attrs.field(factory=dict)
    """The ANN index as trained: ``kind``, its parameters and the ``rows`` it was trained on ({}: none)."""
    state: str = BUILDING
    table: str = "clips"
    format: str = FORMAT
    updated: float = attrs.field(factory=time.time)


def lancedb():
    os.environ.setdefault("LANCE_LOG", "error")
    return require("lancedb", "the clip index")


def pyarrow():
    return require("pyarrow", "the clip index")


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _table_names(db) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = db.list_tables(page_token=token)
        names += list(page.tables)
        token = page.page_token
        if not token:
            return names


class ClipIndex:
    """One opened index: its database, clip table (None before the first rows) and state."""

    def __init__(self, db, uri: str, state: IndexState) -> None:
        self.db = db
        self.uri = uri
        self.state = state

    # ---- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, uri: str, setting: str, *, require_complete: bool = True) -> ClipIndex:
        """An existing index (for search, dedup and filter)."""
        if _is_local(uri) and not Path(uri.removeprefix("file://")).exists():
            raise NotAnIndexError(
                f"{setting}={uri}: no index there; build one with 'cosmos-run cosmos-embed1 index index.uri={uri}'"
            )
        index = cls._connect(uri, setting)
        if index is None:
            raise NotAnIndexError(
                f"{setting}={uri}: not a cosmos-run index (no {STATE_TABLE} table); build one with "
                f"'cosmos-run cosmos-embed1 index index.uri=NEW_FOLDER'"
            )
        if require_complete and index.state.state != COMPLETE:
            raise IncompleteIndexError(
                f"{setting}={uri}: the last build of this index did not finish (interrupted "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(index.state.updated))}); rerun "
                f"'cosmos-run cosmos-embed1 index' with index.uri={uri} to complete it"
            )
        if index.state.table not in _table_names(index.db):
            raise NotAnIndexError(f"{setting}={uri}: the index has no clip table {index.state.table!r}; rebuild it")
        return index

    @classmethod
    def for_build(cls, uri: str, setting: str, wanted: IndexState) -> tuple[ClipIndex, bool]:
        """The index at ``uri`` to add to (created when new) and whether an earlier build was interrupted.

        Refuses a folder that holds anything else, and an index of another checkpoint, preprocessing,
        dimension or clip table name.
        """
        if _is_local(uri):
            folder = Path(uri.removeprefix("file://"))
            if folder.is_file():
                raise NotAnIndexError(f"{setting}={uri} is a file, not an index folder; pass a folder")
            if folder.is_dir() and any(folder.iterdir()) and not (folder / f"{STATE_TABLE}.lance").exists():
                raise NotAnIndexError(
                    f"{setting}={uri}: the folder holds files but is not a cosmos-run index; pass an empty or "
                    "new folder"
                )
        index = cls._connect(uri, setting)
        if index is None:
            db = lancedb().connect(uri)
            if _table_names(db):
                raise NotAnIndexError(f"{setting}={uri}: the database holds other tables; pass a new location")
            index = cls(db, uri, wanted)
            index._write_state(wanted)
            return index, False
        index._check_compatible(wanted, setting)
        interrupted = index.state.state != COMPLETE
        index._write_state(attrs.evolve(index.state, state=BUILDING, updated=time.time()))
        return index, interrupted

    @classmethod
    def _connect(cls, uri: str, setting: str) -> ClipIndex | None:
        try:
            db = lancedb().connect(uri)
            names = _table_names(db)
        except (OSError, ValueError, RuntimeError) as error:
            raise NotAnIndexError(f"{setting}={uri}: cannot open it as a LanceDB database: {error}") from error
        if STATE_TABLE not in names:
            return None
        rows = db.open_table(STATE_TABLE).to_arrow().to_pylist()
        try:
            data = json.loads(rows[0]["state"])
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            state = IndexState(**data)
        except (IndexError, KeyError, TypeError, ValueError) as error:
            raise NotAnIndexError(f"{setting}={uri}: unreadable index state ({error}); rebuild it") from error
        return cls(db, uri, state)

    def _check_compatible(self, wanted: IndexState, setting: str) -> None:
        have = self.state
        if have.dim != wanted.dim:
            raise IndexMismatchError(
                f"{setting}={self.uri} holds {have.dim}-dimensional embeddings but this model makes "
                f"{wanted.dim}-dimensional ones; use a new index.uri"
            )
        check_fingerprint(have.fingerprint, wanted.fingerprint, f"{setting}={self.uri}")
        if have.table != wanted.table:
            raise IndexMismatchError(
                f"{setting}={self.uri} keeps its clips in table {have.table!r}, not {wanted.table!r}; "
                f"set index.table={have.table}"
            )

    def _write_state(self, state: IndexState) -> None:
        pa = pyarrow()
        blob = json.dumps(attrs.asdict(state), sort_keys=True)
        # "overwrite" of a table that does not exist yet logs a Rust warning that LANCE_LOG does not silence.
        mode = "overwrite" if STATE_TABLE in _table_names(self.db) else "create"
        self.db.create_table(STATE_TABLE, pa.table({"state": [blob]}), mode=mode)
        self.state = state

    def mark_complete(self) -> None:
        self._write_state(attrs.evolve(self.state, state=COMPLETE, updated=time.time()))

    # ---- the clip table --------------------------------------------------------------------------

    def table(self):
        names = _table_names(self.db)
        return self.db.open_table(self.state.table) if self.state.table in names else None

    def count(self, where: str | None = None) -> int:
        table = self.table()
        return 0 if table is None else table.count_rows(where)

    def signatures(self) -> dict[str, tuple[int, int]]:
        """Clip id -> (file size, mtime) of every row."""
        table = self.table()
        if table is None:
            return {}
        data = table.to_arrow().select(["id", "file_size", "file_mtime_ns"]).to_pydict()
        return {i: (s, m) for i, s, m in zip(data["id"], data["file_size"], data["file_mtime_ns"], strict=True)}

    def schema(self):
        pa = pyarrow()
        fields = [
            pa.field("id", pa.string(), nullable=False),
            pa.field("path", pa.string()),
            pa.field("start_sec", pa.float64()),
            pa.field("end_sec", pa.float64()),
            pa.field("chunk_index", pa.int64()),
            pa.field("caption", pa.string()),
            pa.field("label", pa.int64()),
            pa.field("file_size", pa.int64()),
            pa.field("file_mtime_ns", pa.int64()),
            pa.field("metadata", pa.string()),
            pa.field("fingerprint", pa.string()),
        ]
        fields += [pa.field(name, getattr(pa, kind)()) for name, kind in self.state.columns.items()]
        fields.append(pa.field("embedding", pa.list_(pa.float32(), self.state.dim)))
        return pa.schema(fields)

    def rows(self, records: Sequence[Mapping[str, Any]], embeddings: np.ndarray):
        """An arrow table of clip rows: ``records`` carry the core and metadata fields."""
        pa = pyarrow()
        schema = self.schema()
        digest = fingerprint_text(self.state.fingerprint)
        columns: dict[str, list] = {name: [] for name in schema.names if name != "embedding"}
        for record in records:
            metadata = record.get("metadata") or {}
            for name in columns:
                if name == "metadata":
                    columns[name].append(json.dumps(metadata, sort_keys=True, default=str))
                elif name == "fingerprint":
                    columns[name].append(digest)
                elif name in self.state.columns:
                    columns[name].append(_conform(metadata.get(name), self.state.columns[name]))
                else:
                    columns[name].append(record.get(name))
        flat = pa.array(np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1))
        arrays = [pa.array(columns[name], type=schema.field(name).type) for name in columns]
        arrays.append(pa.FixedSizeListArray.from_arrays(flat, self.state.dim))
        return pa.Table.from_arrays(arrays, schema=schema)

    def add(self, rows) -> None:
        if not rows.num_rows:
            return
        table = self.table()
        if table is None:
            self.db.create_table(self.state.table, rows)
        else:
            table.add(rows)

    def delete_ids(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        table = self.table()
        if table is None or not ids:
            return 0
        for start in range(0, len(ids), 1000):
            quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids[start : start + 1000])
            table.delete(f"id IN ({quoted})")
        return len(ids)

    def record_skips(self, skipped: Sequence[Mapping[str, str]]) -> None:
        """Append ``{"id", "path", "reason"}`` records to the skip table (the clip ids of a rerun replace theirs)."""
        pa = pyarrow()
        if not skipped:
            return
        data = pa.table(
            {
                "id": [s["id"] for s in skipped],
                "path": [s["path"] for s in skipped],
                "reason": [s["reason"] for s in skipped],
                "time": [time.time()] * len(skipped),
            }
        )
        if SKIP_TABLE in _table_names(self.db):
            self.clear_skips([s["id"] for s in skipped])
            self.db.open_table(SKIP_TABLE).add(data)
        else:
            self.db.create_table(SKIP_TABLE, data)

    def clear_skips(self, ids: Sequence[str]) -> None:
        if SKIP_TABLE not in _table_names(self.db) or not ids:
            return
        table = self.db.open_table(SKIP_TABLE)
        for start in range(0, len(ids), 1000):
            quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids[start : start + 1000])
            table.delete(f"id IN ({quoted})")

    def skips(self) -> list[dict[str, Any]]:
        if SKIP_TABLE not in _table_names(self.db):
            return []
        return self.db.open_table(SKIP_TABLE).to_arrow().to_pylist()

    def compact(self, *, cleanup: bool) -> None:
        """Merge the many small fragments of streamed adds; with ``cleanup`` also delete the data files a
        killed writer left behind (only safe while no other writer runs, which a build assumes)."""
        table = self.table()
        if table is None:
            return
        if cleanup:
            with warnings.catch_warnings():  # "removes every version except the latest": what we want here
                warnings.simplefilter("ignore", UserWarning)
                table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
        else:
            table.optimize()

    # ---- ANN index -------------------------------------------------------------------------------

    def ann_kind(self) -> str | None:
        """The kind of the table's ANN index (ivf_flat, ivf_pq, hnsw), or None when it has none."""
        table = self.table()
        if table is None:
            return None
        for idx in table.list_indices():
            if "embedding" in idx.columns:
                kind = str(idx.index_type).lower().replace("_", "")
                return {"ivfflat": "ivf_flat", "ivfpq": "ivf_pq"}.get(kind, "hnsw" if "hnsw" in kind else kind)
        return None

    def has_ann(self) -> bool:
        return self.ann_kind() is not None

    def ensure_ann(self, cfg: IndexConfig) -> str | None:
        """Build (or rebuild) the ANN index as ``cfg`` asks; the kind built, or None for exact.

        ``auto`` builds IVF_FLAT (exact scores inside the probed partitions) once the table has
        ``cfg.ann_min_rows`` rows: on 1M x 256 clustered embeddings it is the variant that reaches
        recall@10 >= 0.95 at >= 10x the speed of exact search (1.0 at 50-100x with nprobes 32,
        benchmarks/results/curation.md); IVF-PQ is smaller on disk but its re-ranked recall stays at
        0.65 (refine_factor 10) to 0.90 (refine_factor 50, then only 7x faster than exact) there.
        What was built is recorded in the index state (:attr:`IndexState.ann`).
        """
        table = self.table()
        rows = 0 if table is None else table.count_rows()
        kind = cfg.ann
        if kind == "auto":
            kind = AUTO_ANN if rows >= cfg.ann_min_rows else "none"
        if kind == "none" or rows == 0:
            return None
        from lancedb.index import HnswSq, IvfFlat, IvfPq

        partitions = cfg.num_partitions or max(1, min(rows // 40, round(rows**0.5)))
        params: dict[str, Any] = {"num_partitions": partitions}
        if kind == "ivf_pq":
            params["num_sub_vectors"] = cfg.num_sub_vectors or max(1, self.state.dim // 8)
            config = IvfPq(distance_type="dot", **params)
        elif kind == "ivf_flat":
            config = IvfFlat(distance_type="dot", **params)
        else:
            params = {"num_partitions": 1}
            config = HnswSq(distance_type="dot", **params)
        table.create_index("embedding", config=config, replace=True)
        self._write_state(attrs.evolve(self.state, ann={"kind": kind, **params, "rows": rows}))
        return kind

    def refresh_ann(self, cfg: IndexConfig) -> str:
        """After a build: keep, build, rebuild or drop the ANN index so that it is what ``cfg`` asks for
        the table as it is now; says which (for the build summary).

        Rows added since the index was trained are already in it (``compact`` runs LanceDB's optimize,
        which assigns them to the trained partitions); it is retrained when the kind or an explicit
        parameter changed, or the table has grown :data:`ANN_REGROWTH` times. ``auto`` keeps whatever
        index exists; ``none`` drops it.
        """
        existing = self.ann_kind()
        if cfg.ann == "none":
            if existing is None:
                return "none (exact search)"
            self.drop_ann()
            return f"none (exact search; the {existing} index was dropped)"
        why = self._retrain_reason(cfg, existing)
        if why is None:
            return f"{existing} (kept)" if existing else "none (exact search)"
        if cfg.ann == "auto" and existing is not None:
            cfg = attrs.evolve(cfg, ann=existing)  # retrain what was chosen before
        kind = self.ensure_ann(cfg)
        if kind is None:
            return "none (exact search)"
        return f"{kind} {self.ann_stats()}" + ("" if existing is None else f", rebuilt: {why}")

    def _retrain_reason(self, cfg: IndexConfig, existing: str | None) -> str | None:
        if existing is None:
            return "new"
        built, rows = dict(self.state.ann), self.count()
        if cfg.ann != "auto" and cfg.ann != existing:
            return f"index.ann={cfg.ann} (was {existing})"
        for name in ("num_partitions", "num_sub_vectors"):
            wanted = getattr(cfg, name)
            if wanted is not None and name in built and built[name] != wanted:
                return f"index.{name}={wanted} (was {built[name]})"
        if built.get("rows") and rows >= ANN_REGROWTH * built["rows"]:
            return f"the table grew from {built['rows']} to {rows} rows"
        return None

    def drop_ann(self) -> None:
        """Remove the ANN index (searches become exact)."""
        table = self.table()
        for idx in [] if table is None else table.list_indices():
            if "embedding" in idx.columns:
                table.drop_index(idx.name)
        if self.state.ann:
            self._write_state(attrs.evolve(self.state, ann={}))

    def ann_stats(self) -> str:
        """The parameters of the ANN index as trained (:attr:`IndexState.ann`), for logs and benchmarks."""
        params = self.state.ann
        return (
            "("
            + ", ".join(f"{k.replace('num_', '')} {v}" for k, v in params.items() if k not in ("kind", "rows"))
            + ")"
        )

    # ---- reading ---------------------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, where: str | None, cfg: IndexConfig, setting: str
    ) -> list[list[dict[str, Any]]]:
        """Top-``k`` rows (with ``score``, the cosine similarity) for each query row, best first."""
        table = self.table()
        if queries.shape[1] != self.state.dim:
            raise IndexMismatchError(
                f"{setting}={self.uri} holds {self.state.dim}-dimensional embeddings, the queries are "
                f"{queries.shape[1]}-dimensional: search it with the checkpoint it was built with"
            )
        query = table.search([q for q in queries.astype(np.float32)]).distance_type("dot").limit(k)
        if where:
            query = query.where(where, prefilter=True)
        kind = self.ann_kind()
        if kind is not None:
            query = query.nprobes(cfg.nprobes)
            if kind != "ivf_flat" and cfg.refine_factor > 1:  # IVF_FLAT's scores are exact already
                query = query.refine_factor(cfg.refine_factor)
        try:
            result = query.select([*(c for c in self.schema().names if c != "embedding"), "_distance"]).to_arrow()
        except (ValueError, RuntimeError) as error:
            raise ClipIndexError(f"{setting}: the search failed (check the filter {where!r}): {error}") from error
        out: list[list[dict[str, Any]]] = [[] for _ in range(len(queries))]
        for row in result.to_pylist():
            slot = row.pop("query_index", 0)
            row["score"] = 1.0 - row.pop("_distance")
            out[slot].append(row)
        for hits in out:
            hits.sort(key=lambda r: -r["score"])
        return out

    def scan(self, columns: Sequence[str], where: str | None, setting: str, batch_size: int = 8192) -> Iterator:
        """Record batches of ``columns`` of the rows matching ``where``."""
        query = self.table().search().select(list(columns)).limit(None)
        if where:
            query = query.where(where)
        try:
            yield from query.to_batches(batch_size)
        except (ValueError, RuntimeError) as error:
            raise ClipIndexError(f"{setting}: cannot read {self.uri} with filter {where!r}: {error}") from error

    def read(self, columns: Sequence[str], where: str | None, setting: str) -> dict[str, Any]:
        """Columns of the matching rows as Python lists; ``embedding`` as a float32 array [N, dim]."""
        pa = pyarrow()
        batches = list(self.scan(columns, where, setting))
        table = pa.Table.from_batches(batches) if batches else None
        out: dict[str, Any] = {}
        for name in columns:
            if name == "embedding":
                if table is None or not table.num_rows:
                    out[name] = np.zeros((0, self.state.dim), dtype=np.float32)
                else:
                    flat = table.column(name).combine_chunks().values.to_numpy(zero_copy_only=False)
                    out[name] = flat.reshape(-1, self.state.dim).astype(np.float32, copy=False)
            else:
                out[name] = [] if table is None else table.column(name).to_pylist()
        return out


def check_not_run_folder(uri: str | None, run_folder: Path, setting: str) -> None:
    """Refuse an index location that is, or holds, the run's own output folder (logs, config, summary)."""
    if not uri or not _is_local(uri):
        return
    index = Path(uri.removeprefix("file://")).expanduser().resolve()
    run = Path(run_folder).expanduser().resolve()
    if index == run or index in run.parents:
        what = "is" if index == run else "contains"
        raise ClipIndexError(
            f"{setting}={uri} {what} this run's own output folder {run} (its logs, resolved config and "
            f"index_summary.json go there); put the index in a folder of its own, e.g. "
            f"{setting}={run.parent / 'clip_index'}"
        )


def check_fingerprint(have: Mapping[str, Any], wanted: Mapping[str, Any], where: str) -> None:
    """Refuse to mix embeddings of another checkpoint or preprocessing."""
    if have.get("model") != wanted.get("model"):
        raise IndexMismatchError(
            f"{where} holds embeddings of another checkpoint (weights {have.get('model')}, this run's "
            f"{wanted.get('model')}); use the checkpoint the index was built with, or a new index.uri"
        )
    theirs, ours = have.get("preprocessing") or {}, wanted.get("preprocessing") or {}
    differing = sorted(k for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k))
    if differing:
        details = ", ".join(f"{k}: index {theirs.get(k)!r} vs {ours.get(k)!r}" for k in differing)
        raise IndexMismatchError(
            f"{where} holds embeddings of other preprocessing ({details}); use the same dataset.inference_dataset "
            "settings, or a new index.uri"
        )


def fingerprint_text(fingerprint: Mapping[str, Any]) -> str:
    return json.dumps(fingerprint, sort_keys=True, default=str)


def metadata_columns(entries: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Filterable columns from the metadata entries' scalar fields: bool, int64, float64 or string."""
    kinds: dict[str, set[str]] = {}
    for entry in entries:
        for name, value in entry.items():
            if name in RESERVED or not name.isidentifier() or value is None:
                continue
            if isinstance(value, bool):
                kind = "bool"
            elif isinstance(value, int):
                kind = "int64"
            elif isinstance(value, float):
                kind = "float64"
            elif isinstance(value, str):
                kind = "string"
            else:
                kind = "nested"
            kinds.setdefault(name, set()).add(kind)
    columns = {}
    for name, seen in sorted(kinds.items()):
        if "nested" in seen:
            continue
        if len(seen) == 1:
            columns[name] = seen.pop()
        elif seen <= {"int64", "float64"}:
            columns[name] = "float64"
        else:
            columns[name] = "string"
    return columns


def _conform(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if kind == "int64" else float(value)
