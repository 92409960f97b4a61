"""Batching Cosmos-Transfer1 samples and listing the skipped ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from cosmos_datasets.skips import SkippedSample


def collate_transfer(items: Sequence[Mapping[str, Any] | SkippedSample]) -> dict[str, Any]:
    """Stack samples into a batch; ``batch["skipped"]`` lists the skipped items ``{"path", "reason"}``.

    Tensors are stacked along a new first axis (a batch of one is a view, no copy), numbers become
    tensors ``[B]`` and everything else (strings, dicts, lists) a list of B entries. Samples that
    stand in for skipped ones (:class:`~cosmos_datasets.replacement.ReplaceSkipped`) bring their
    records under ``"skipped"``. A batch where every item was skipped holds only ``skipped``.
    """
    samples = [item for item in items if not isinstance(item, SkippedSample)]
    skipped = [item.as_record() for item in items if isinstance(item, SkippedSample)]
    skipped += [dict(record) for sample in samples for record in sample.get("skipped", ())]
    batch: dict[str, Any] = {"skipped": skipped}
    if not samples:
        return batch
    for key in samples[0]:
        if key == "skipped":
            continue
        values = [sample[key] for sample in samples]
        first = values[0]
        if isinstance(first, torch.Tensor):
            batch[key] = first.unsqueeze(0) if len(values) == 1 else torch.stack(values)
        elif isinstance(first, int | float) and not isinstance(first, bool):
            batch[key] = torch.tensor(values, dtype=torch.float32 if isinstance(first, float) else torch.long)
        else:
            batch[key] = values
    return batch


class TransferBatches:
    """How the training loop reads :func:`collate_transfer` batches (a :class:`cosmos_core.training.BatchFormat`)."""

    def rows(self, batch: Mapping[str, Any]) -> int:
        video = batch.get("video")
        return int(video.shape[0]) if isinstance(video, torch.Tensor) else 0

    def pop_skipped(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        return list(batch.pop("skipped", None) or ())
