"""Data loaders and batches as the training loop sees them.

The loop knows nothing of a family's batch keys: a :class:`BatchFormat` tells it how many rows a
batch has and which samples were skipped (and removes them from the batch). :class:`SeededSamples`
makes the randomness of each sample (augmentations, random captions, on-the-fly control inputs) a
function of the run's seed, the epoch and the sample's index, so it does not depend on the number of
loader workers, survives a resume exactly, and is the same on the ranks of one tensor-parallel group.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from cosmos_core.training.rng import seed_everything


@runtime_checkable
class BatchFormat(Protocol):
    """How the loop reads a family's batches."""

    def rows(self, batch: Any) -> int:
        """Samples in ``batch`` (0: every sample of it was skipped)."""

    def pop_skipped(self, batch: Any) -> list[dict[str, Any]]:
        """Remove and return the records (``path``, ``reason``, …) of the samples skipped in ``batch``."""


class FirstTensorRows:
    """Default :class:`BatchFormat`: rows are the length of the first tensor; nothing is skipped."""

    def rows(self, batch: Any) -> int:
        if isinstance(batch, torch.Tensor):
            return int(batch.shape[0]) if batch.dim() else 1
        values = batch.values() if isinstance(batch, Mapping) else batch
        for value in values:
            if isinstance(value, torch.Tensor):
                return int(value.shape[0]) if value.dim() else 1
        return 1

    def pop_skipped(self, batch: Any) -> list[dict[str, Any]]:
        return []


class SeededSamples(Dataset):
    """``dataset`` with python's, numpy's and torch's RNGs seeded per sample from (seed, epoch, index).

    In a loader worker the worker's own generators are reseeded; in the main process the draws happen
    on forked generators, so loading never shifts the training process's random stream.
    """

    def __init__(self, dataset: Dataset[Any], seed: int) -> None:
        self.dataset = dataset
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Samples of ``epoch`` from now on; a dataset with its own ``set_epoch`` hears of it too."""
        self.epoch = epoch
        inner = getattr(self.dataset, "set_epoch", None)
        if callable(inner):
            inner(epoch)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        sample_seed = sample_seed_of(self.seed, self.epoch, index)
        if get_worker_info() is not None:
            seed_everything(sample_seed)
            return self.dataset[index]
        with forked_rng():
            seed_everything(sample_seed)
            return self.dataset[index]


def sample_seed_of(seed: int, epoch: int, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


@contextlib.contextmanager
def forked_rng() -> Iterator[None]:
    """Run the block on the CPU generators' current states and put them back afterwards."""
    python, numpy_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)


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
