"""A DataLoader that applies a SingleDatasetConfig's loading settings."""

from __future__ import annotations

import functools

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cosmos_datasets.collate import Tokenize, collate_samples
from cosmos_datasets.config import SingleDatasetConfig


def build_dataloader(
    dataset: Dataset,
    config: SingleDatasetConfig,
    *,
    shuffle: bool = False,
    sampler: Sampler | None = None,
    tokenize: Tokenize | None = None,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """``batch_size``, ``workers``, ``drop_last``, ``prefetch_factor`` and ``pin_memory`` from ``config``.

    Batches come from :func:`collate_samples`. ``pin_memory`` only applies when CUDA is available;
    ``shuffle`` is ignored when a ``sampler`` (e.g. a DistributedSampler) is given.
    """
    extra = {"prefetch_factor": config.prefetch_factor} if config.workers > 0 else {}
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        num_workers=config.workers,
        collate_fn=functools.partial(collate_samples, tokenize=tokenize) if tokenize else collate_samples,
        pin_memory=config.pin_memory and torch.cuda.is_available(),
        drop_last=config.drop_last,
        generator=generator,
        **extra,
    )
