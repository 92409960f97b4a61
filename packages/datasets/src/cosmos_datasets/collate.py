"""Batching samples and dropping skipped ones: the ``collate_fn`` of cosmos DataLoaders."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from cosmos_datasets.skips import SkippedSample

Tokenize = Callable[[list[str]], Mapping[str, Any]]

OPTIONAL_FIELDS = {
    "is_anomaly": torch.bool,
    "overlap_ratio": torch.float32,
    "chunk_index": torch.long,
    "start_sec": torch.float32,
    "end_sec": torch.float32,
}
"""Per-sample fields some dataset types add (vad_r1_chunks); a batch holds each as a tensor [B]
when every sample in it has the field."""


def collate_samples(items: Sequence[Mapping[str, Any] | SkippedSample], tokenize: Tokenize | None = None) -> dict:
    """Stack samples into a batch and list the skipped ones.

    Returns ``{"video": uint8 [B,T,3,H,W], "caption": list[str], "label": LongTensor [B],
    "index": LongTensor [B], "path": list[str], "skipped": [{"path", "reason"}, ...]}``. Skipped items
    (and the skips a :class:`~cosmos_datasets.replacement.ReplaceSkipped` sample carries) only appear in
    ``skipped``; when every item was skipped, B is 0 and ``video`` is an empty tensor, which callers
    must handle. :data:`OPTIONAL_FIELDS` the samples carry become tensors ``[B]``.
    ``tokenize(captions)`` (e.g. a tokenizer call returning ``input_ids`` and ``attention_mask``) adds
    its keys to batches with B > 0.
    """
    samples = [item for item in items if not isinstance(item, SkippedSample)]
    skipped = [item.as_record() for item in items if isinstance(item, SkippedSample)]
    skipped += [dict(record) for sample in samples for record in sample.get("skipped", ())]
    batch: dict[str, Any] = {
        "video": torch.stack([s["video"] for s in samples])
        if samples
        else torch.empty(0, 0, 3, 0, 0, dtype=torch.uint8),
        "caption": [s["caption"] for s in samples],
        "label": torch.tensor([s["label"] for s in samples], dtype=torch.long),
        "index": torch.tensor([s["index"] for s in samples], dtype=torch.long),
        "path": [s["path"] for s in samples],
        "skipped": skipped,
    }
    for key, dtype in OPTIONAL_FIELDS.items():
        if samples and all(key in s for s in samples):
            batch[key] = torch.tensor([s[key] for s in samples], dtype=dtype)
    if tokenize is not None and samples:
        for key, value in tokenize(batch["caption"]).items():
            if key in batch:
                raise ValueError(f"tokenize returned key {key!r}, which the batch already uses for {key}")
            batch[key] = value
    return batch


class SampleBatches:
    """How the training loop reads :func:`collate_samples` batches (a
    :class:`cosmos_core.training.BatchFormat`): rows are the videos; ``skipped`` is taken out."""

    def rows(self, batch: Mapping[str, Any]) -> int:
        return int(batch["video"].shape[0])

    def pop_skipped(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        return list(batch.pop("skipped", None) or ())
