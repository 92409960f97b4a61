"""What an index build must cover: one :class:`CatalogueEntry` per dataset item, read without decoding.

Each item gets a stable clip id (its video and time window), the file's size and modification time
(a changed file is re-embedded), and its metadata entry, whose scalar fields become filterable
columns of the index (``split = 'test'``). Metadata-driven dataset types expose their clips; any other
type (``mock``) is catalogued by position, as ``<dataset_type>://<index>``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

import attrs
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.errors import MetadataError
from cosmos_datasets.metadata import read_records

_SOURCE_LINE = re.compile(r":(\d+)(?: chunk \d+)?$")


@attrs.frozen
class CatalogueEntry:
    index: int
    """Position of the item in the dataset."""
    id: str
    path: str
    start_sec: float | None
    end_sec: float | None
    chunk_index: int | None
    file_size: int
    """-1 when the path is not a local file (URLs, mock items)."""
    file_mtime_ns: int
    metadata: Mapping[str, Any]


def clip_id(path: str, start_sec: float | None, end_sec: float | None) -> str:
    """A short stable id of a clip: its path and time window."""
    key = f"{path}|{'' if start_sec is None else round(start_sec, 3)}|{'' if end_sec is None else round(end_sec, 3)}"
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def catalogue(dataset: Any, cfg: SingleDatasetConfig) -> list[CatalogueEntry]:
    """Every item of ``dataset`` (built from ``cfg``) in dataset order."""
    clips = getattr(dataset, "clips", None)
    if clips is None:
        return [_positional(cfg.dataset_type, index) for index in range(len(dataset))]
    entries = _metadata_by_line(cfg.metadata)
    out = []
    for index, clip in enumerate(clips):
        size, mtime = _signature(clip.path)
        chunk = clip.extra.get("chunk_index")
        out.append(
            CatalogueEntry(
                index=index,
                id=clip_id(clip.path, clip.start_sec, clip.end_sec),
                path=clip.path,
                start_sec=clip.start_sec,
                end_sec=clip.end_sec,
                chunk_index=None if chunk is None else int(chunk),
                file_size=size,
                file_mtime_ns=mtime,
                metadata=entries.get(_line_of(clip.source), {}),
            )
        )
    return out


def _positional(dataset_type: str, index: int) -> CatalogueEntry:
    path = f"{dataset_type}://{index}"
    return CatalogueEntry(index, clip_id(path, None, None), path, None, None, None, -1, -1, {})


def _signature(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def _metadata_by_line(metadata: str | None) -> dict[int, dict[str, Any]]:
    """JSON/JSONL metadata entries by line (CSV and absent metadata give no columns)."""
    if not metadata or not metadata.lower().endswith((".json", ".jsonl")):
        return {}
    try:
        return dict(read_records(metadata))
    except MetadataError:
        return {}


def _line_of(source: str) -> int | None:
    match = _SOURCE_LINE.search(source)
    return int(match.group(1)) if match else None
