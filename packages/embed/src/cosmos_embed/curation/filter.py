"""Text-based filtering of an index: scores against positive and negative texts, VAD-R1 output entries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

VAD_R1_DROPPED = ("video_path", "chunks")
"""Fields of a ``vad_r1_chunks`` entry that a whole-video VAD-R1 entry does not have."""


def keep_mask(
    embeddings: np.ndarray, positives: np.ndarray, negatives: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows to keep, and each row's best positive similarity: at least ``threshold`` to some
    positive text and below it for every negative text."""
    best = (embeddings @ positives.T).max(axis=1)
    keep = best >= threshold
    if len(negatives):
        keep &= (embeddings @ negatives.T).max(axis=1) < threshold
    return keep, best


def vad_r1_entry(row: Mapping[str, Any], score: float) -> dict[str, Any]:
    """A VAD-R1 metadata entry of an index row: its original metadata entry with the indexed (resolved)
    path, the caption it was indexed with as ``anomaly_type`` when the entry has none, and the score."""
    entry = {k: v for k, v in json.loads(row.get("metadata") or "{}").items() if k not in VAD_R1_DROPPED}
    entry["path"] = row["path"]
    entry.setdefault("anomaly_type", row["caption"])
    entry["filter_score"] = round(float(score), 6)
    return entry


def merge_by_video(entries: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """One entry per video (VAD-R1 entries are whole videos): the best-scoring chunk's, with every kept
    chunk's time window under ``kept_chunks`` when the index holds chunks."""
    groups: dict[str, list[tuple[Mapping[str, Any], dict[str, Any]]]] = {}
    for row, entry in entries:
        groups.setdefault(entry["path"], []).append((row, entry))
    merged = []
    for items in groups.values():
        best = dict(max(items, key=lambda item: item[1]["filter_score"])[1])
        windows = sorted([row["start_sec"], row["end_sec"]] for row, _ in items if row.get("start_sec") is not None)
        if windows:
            best["kept_chunks"] = windows
        merged.append(best)
    return merged
