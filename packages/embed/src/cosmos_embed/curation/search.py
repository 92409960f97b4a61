"""``inference`` with ``inference.index``: text-to-video and video-to-video top-K over a clip index.

The results JSON has the layout of a search over ``dataset.inference_dataset`` (each hit: rank, score,
path, caption, label), with the clip id, time window and metadata columns added; a contact sheet PNG
per query goes next to it. Query videos are sampled with the preprocessing the index was built with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cosmos_core.io import write_json_atomically
from cosmos_datasets.video import read_clip

from cosmos_embed.config import ExperimentConfig
from cosmos_embed.curation.contact_sheet import write_contact_sheet
from cosmos_embed.curation.fingerprint import model_digest
from cosmos_embed.curation.index_table import ClipIndex, check_fingerprint

logger = logging.getLogger("cosmos.embed")

HIDDEN = ("metadata", "fingerprint", "file_size", "file_mtime_ns")
"""Index columns left out of the results (bookkeeping, or the whole metadata entry as JSON)."""


def search_index(config: ExperimentConfig, encoder: Any, out: Path) -> Path:
    settings = config.inference
    index = ClipIndex.open(settings.index, "inference.index")
    prep = index.state.fingerprint.get("preprocessing") or {}
    wanted = {"model": model_digest(encoder.network), "preprocessing": prep}
    check_fingerprint(index.state.fingerprint, wanted, f"inference.index={settings.index}")
    where = settings.index_filter
    results: dict[str, Any] = {
        "k": settings.k,
        "database_size": index.count(where),
        "index": settings.index,
        "index_filter": where,
    }
    queries: list[tuple[str, str, torch.Tensor]] = []
    if settings.query.input_texts:
        queries.append(("text_to_video", settings.query.input_texts, encoder.texts(settings.query.input_texts)))
    if settings.query.input_videos:
        clips = [_read_query(path, prep) for path in settings.query.input_videos]
        queries.append(("video_to_video", settings.query.input_videos, torch.cat([encoder.videos(c) for c in clips])))
    sheets = []
    for kind, names, embeddings in queries:
        found = index.search(embeddings.numpy().astype(np.float32), settings.k, where, config.index, "inference.index")
        results[kind] = [{"query": name, "results": _hits(hits)} for name, hits in zip(names, found, strict=True)]
        for number, entry in enumerate(results[kind]):
            sheet = out / f"contact_sheet_{kind}_{number}.png"
            sheets.append(
                write_contact_sheet(sheet, entry["query"], entry["results"], prep.get("decode_backend", "pyav"))
            )
    path = write_json_atomically(out / "results.json", results)
    for kind, _, _ in queries:
        for entry in results[kind]:
            if entry["results"]:
                best = entry["results"][0]
                logger.info("%r -> %s (score %.3f)", entry["query"], best["path"], best["score"])
    logger.info("index search results in %s, %d contact sheets in %s", path, len(sheets), out)
    return path


def _hits(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "rank": rank + 1,
            "score": round(float(row["score"]), 6),
            **{k: v for k, v in row.items() if k not in (*HIDDEN, "score")},
        }
        for rank, row in enumerate(rows)
    ]


def _read_query(path: str, prep: dict[str, Any]) -> torch.Tensor:
    frames = read_clip(path, prep["num_video_frames"], tuple(prep["resolution"]), prep.get("decode_backend", "pyav"))
    return frames.unsqueeze(0)
