"""A DataLoader over :class:`~cosmos_transfer.data.dataset.TransferDataset`, decoding in worker processes."""

from __future__ import annotations

import torch
from cosmos_datasets.replacement import ReplaceSkipped
from torch.utils.data import DataLoader, Dataset, Sampler

from cosmos_transfer.data.collate import collate_transfer
from cosmos_transfer.data.dataset import TransferDataset


def build_transfer_dataloader(
    dataset: TransferDataset,
    *,
    batch_size: int = 1,
    workers: int = 8,
    training: bool = True,
    epoch: int = 0,
    seed: int = 0,
    sampler: Sampler | None = None,
    prefetch_factor: int = 2,
    pin_memory: bool = True,
) -> DataLoader:
    """The reference's loader settings: batch 1, 8 workers, prefetch 2, pinned memory, drop_last in training.

    In training, skipped items are replaced by the next loadable one (their records travel in the
    batch's ``skipped``), so every rank gets full batches, and the order is shuffled with a generator
    seeded by ``(seed, epoch)``; pass a ``sampler`` (e.g. a DistributedSampler) to choose the order
    yourself. The dataset draws epoch ``epoch``'s windows and controls.
    """
    dataset.set_epoch(epoch)
    source: Dataset = ReplaceSkipped(dataset) if training else dataset
    generator = None
    if training and sampler is None:
        generator = torch.Generator()
        generator.manual_seed(seed * 100_003 + epoch)
    extra = {"prefetch_factor": prefetch_factor} if workers > 0 else {}
    return DataLoader(
        source,
        batch_size=batch_size,
        shuffle=training and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_transfer,
        pin_memory=pin_memory and torch.cuda.is_available(),
        drop_last=training,
        generator=generator,
        **extra,
    )
