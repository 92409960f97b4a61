"""Building an index incrementally: what to embed (new or changed clips), streamed writes, skips.

The same :class:`IndexWriter` takes the embeddings of the single-process path (:func:`encode_local`)
and of the Ray Data pipeline (:mod:`cosmos_embed.curation.ray_build`), so both write identical rows.
Rows go to the table every ``index.write_every`` clips; each LanceDB add is atomic, so a killed build
keeps whole batches only and a rerun embeds exactly the clips that are not in the table yet.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.loader import build_dataloader

from cosmos_embed.curation.catalogue import CatalogueEntry, clip_id
from cosmos_embed.curation.index_table import ClipIndex

logger = logging.getLogger("cosmos.embed")


@attrs.frozen
class BuildPlan:
    todo: list[CatalogueEntry]
    """Clips to embed: new ones and those whose file changed (size or mtime)."""
    changed: list[str]
    """Ids of rows whose file changed: deleted before their clips are embedded again."""
    vanished: list[str]
    """Ids of rows whose clip is no longer in the dataset."""
    unchanged: int


def plan_build(entries: Sequence[CatalogueEntry], existing: Mapping[str, tuple[int, int]]) -> BuildPlan:
    todo, changed = [], []
    unchanged = 0
    for entry in entries:
        have = existing.get(entry.id)
        if have is None:
            todo.append(entry)
        elif tuple(have) != (entry.file_size, entry.file_mtime_ns):
            todo.append(entry)
            changed.append(entry.id)
        else:
            unchanged += 1
    present = {entry.id for entry in entries}
    vanished = [i for i in existing if i not in present]
    return BuildPlan(todo, changed, vanished, unchanged)


def build_skips(records: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Entries the dataset dropped while building (missing files) as skip-table records."""
    return [{"id": clip_id(r["path"], None, None), "path": r["path"], "reason": r["reason"]} for r in records]


class IndexWriter:
    """Collects embedded and skipped clips and writes them to the index every ``write_every`` clips."""

    def __init__(self, index: ClipIndex, todo: Sequence[CatalogueEntry], write_every: int, show: bool) -> None:
        from tqdm.auto import tqdm

        self.index = index
        self.entries = {entry.index: entry for entry in todo}
        self.write_every = max(1, write_every)
        self.records: list[dict[str, Any]] = []
        self.embeddings: list[np.ndarray] = []
        self.skipped: list[dict[str, str]] = []
        self.written = 0
        self.bar = tqdm(total=len(todo), unit="clip", desc="indexing", disable=not show, dynamic_ncols=True)

    def put(
        self,
        indices: Sequence[int],
        embedded: Mapping[int, tuple[str, int, str]],
        embeddings: np.ndarray | None,
        reasons: Mapping[str, str],
    ) -> None:
        """One batch: ``indices`` it was asked for; ``embedded`` maps each encoded index to (caption, label,
        path), in the order of the rows of ``embeddings``; the rest were skipped (``reasons`` by path)."""
        for row, (index, (caption, label, path)) in enumerate(embedded.items()):
            entry = self.entries[index]
            self.records.append(
                {
                    "id": entry.id,
                    "path": path,
                    "start_sec": entry.start_sec,
                    "end_sec": entry.end_sec,
                    "chunk_index": entry.chunk_index,
                    "caption": caption,
                    "label": int(label),
                    "file_size": entry.file_size,
                    "file_mtime_ns": entry.file_mtime_ns,
                    "metadata": dict(entry.metadata),
                }
            )
            self.embeddings.append(embeddings[row])
        for index in indices:
            if index not in embedded:
                entry = self.entries[index]
                reason = reasons.get(entry.path, "undecodable: the dataset returned no sample")
                self.skipped.append({"id": entry.id, "path": entry.path, "reason": reason})
        self.bar.update(len(indices))
        if len(self.records) + len(self.skipped) >= self.write_every:
            self.flush()

    def flush(self) -> None:
        if self.records:
            vectors = np.stack(self.embeddings).astype(np.float32)
            self.index.add(self.index.rows(self.records, vectors))
            self.index.clear_skips([r["id"] for r in self.records])
            self.written += len(self.records)
        self.index.record_skips(self.skipped)
        self.records, self.embeddings, self.skipped = [], [], []

    def close(self) -> None:
        self.flush()
        self.bar.close()


def encode_local(encoder: Any, dataset: Any, cfg: SingleDatasetConfig, writer: IndexWriter, order: list[int]) -> None:
    """Embed the dataset items ``order`` in this process, in batches of ``cfg.batch_size``.

    As :func:`cosmos_embed.corpus.encode_dataset` does, each batch's forward is launched
    (``Encoder.videos_async``) before the next batch is taken from the loader and read back after, so on
    a GPU decoding and the model overlap.
    """
    cfg = attrs.evolve(cfg, drop_last=False)
    launch = getattr(encoder, "videos_async", encoder.videos)
    pending: tuple[Any, ...] | None = None  # the batch whose forward is in flight
    for k, batch in enumerate(build_dataloader(dataset, cfg, sampler=order)):
        asked = order[k * cfg.batch_size : (k + 1) * cfg.batch_size]
        got = [int(i) for i in batch["index"]]
        embedded = {
            i: (c, int(lbl), p)
            for i, c, lbl, p in zip(got, batch["caption"], batch["label"], batch["path"], strict=True)
        }
        launched = launch(batch["video"]) if got else None
        if pending is not None:
            _write(writer, *pending)
        pending = (asked, embedded, launched, {s["path"]: s["reason"] for s in batch["skipped"]})
    if pending is not None:
        _write(writer, *pending)


def _write(writer: IndexWriter, asked: list[int], embedded: Mapping[int, Any], launched: Any, reasons: Any) -> None:
    writer.put(asked, embedded, None if launched is None else launched.cpu().numpy(), reasons)
