"""A seeded, sharded, resumable sampler: a resumed run sees exactly the samples it had left.

Like :class:`torch.utils.data.DistributedSampler`, every epoch is one permutation drawn from
``seed + epoch`` (identical on all ranks), padded by wrapping around (or cut, with ``drop_last``) to
a multiple of the number of ranks, and rank ``r`` takes every ``num_replicas``-th index starting at
``r``. Unlike it, the sampler knows how far into its shard the consumer has got (``position``, moved
by :meth:`advance`), saves that with :meth:`state_dict`, and starts there again after
:meth:`load_state_dict`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler

logger = logging.getLogger("cosmos.train")


class ResumableSampler(Sampler[int]):
    """Indices of one rank's shard of a map-style dataset, epoch by epoch."""

    def __init__(
        self,
        dataset_size: int,
        *,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        if dataset_size < 0:
            raise ValueError(f"dataset_size must be >= 0, got {dataset_size}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
        self.dataset_size = dataset_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.epoch = 0
        self.position = 0
        if drop_last:
            self.shard_size = dataset_size // num_replicas
        else:
            self.shard_size = -(-dataset_size // num_replicas)  # ceil

    def shard(self, epoch: int) -> list[int]:
        """This rank's indices for ``epoch``, in order."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(self.dataset_size, generator=generator).tolist()
        else:
            order = list(range(self.dataset_size))
        total = self.shard_size * self.num_replicas
        if total > len(order) and order:  # pad by wrapping around, as DistributedSampler does
            order = (order * (-(-total // len(order))))[:total]
        return order[self.rank : total : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.shard(self.epoch)[self.position :])

    def __len__(self) -> int:
        return self.shard_size - self.position

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning."""
        self.epoch = epoch
        self.position = 0

    def advance(self, num_samples: int) -> None:
        """Record that the consumer has used ``num_samples`` more indices of this epoch."""
        self.position = min(self.position + num_samples, self.shard_size)

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "dataset_size": self.dataset_size,
            "num_replicas": self.num_replicas,
            "seed": self.seed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue where ``state`` left off; a different dataset, seed or rank count restarts the epoch."""
        self.epoch = int(state["epoch"])
        same_sequence = (
            state.get("dataset_size") == self.dataset_size
            and state.get("num_replicas") == self.num_replicas
            and state.get("seed") == self.seed
        )
        if same_sequence:
            self.position = min(int(state["position"]), self.shard_size)
            return
        logger.warning(
            "the data order cannot be continued exactly (saved: %d samples, %d ranks, seed %s; now: "
            "%d samples, %d ranks, seed %d); restarting epoch %d from its beginning",
            state.get("dataset_size", -1),
            state.get("num_replicas", -1),
            state.get("seed"),
            self.dataset_size,
            self.num_replicas,
            self.seed,
            self.epoch,
        )
        self.position = 0
