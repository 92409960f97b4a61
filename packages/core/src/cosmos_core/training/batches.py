"""Data loaders and batches as the training loop sees them: dicts of tensors and plain values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


@attrs.frozen
class LoaderSettings:
    """How one split is batched and loaded (the dataset config's loader fields)."""

    batch_size: int
    workers: int = 0
    drop_last: bool = True
    prefetch_factor: int = 2
    pin_memory: bool = True

    def __attrs_post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")


def make_loader(
    dataset: Dataset[Any],
    settings: LoaderSettings,
    *,
    sampler: Sampler[int],
    collate_fn: Callable[[list[Any]], Any] | None,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> DataLoader[Any]:
    """A DataLoader over ``sampler``'s indices.

    ``generator`` seeds the worker processes; giving the loader its own keeps iterator creation from
    drawing on the global torch RNG, which a resumed run would otherwise see in a different state.
    """
    workers = settings.workers
    return DataLoader(
        dataset,
        batch_size=settings.batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_fn,
        drop_last=settings.drop_last,
        pin_memory=settings.pin_memory and device.type == "cuda",
        prefetch_factor=settings.prefetch_factor if workers > 0 else None,
        generator=generator,
    )


def move_to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor (inside dicts, lists and tuples too) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {key: move_to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(move_to_device(item, device) for item in value)
    return value


def batch_rows(batch: Mapping[str, Any]) -> int | None:
    """Rows in ``batch``: the length of ``video`` if present, else of its first tensor; None if no tensor."""
    video = batch.get("video")
    if isinstance(video, torch.Tensor):
        return int(video.shape[0]) if video.dim() else 1
    for value in batch.values():
        if isinstance(value, torch.Tensor):
            return int(value.shape[0]) if value.dim() else 1
    return None
