"""Tensor-by-tensor reading of a checkpoint through a memory map whose resident pages stay bounded.

``torch.load(mmap=True, weights_only=True)`` maps the whole file; every page a tensor read touches stays
resident (and counted in the process's RSS) until the mapping goes away, which is when the last tensor of
that load is freed. So reading a 15 GB file tensor by tensor through one mapping ends with 15 GB resident.
:class:`StateReader` hands out tensors from one load until the next one would take it past ``window``
bytes, then drops it and loads the file again (only the small pickle is read again): the pages of tensors
already processed are released with the old mapping as soon as the caller lets go of them. Callers copy
what they keep (a shard's chunk, a merged tensor) before asking for more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from cosmos_transfer.model.loading import read_checkpoint

DEFAULT_WINDOW = 512 * 2**20
"""Bytes handed out from one mapping before it is replaced by a fresh one (a larger tensor gets a mapping
to itself)."""

Selector = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""Picks the state dict out of a loaded file (``{"model": ...}``, ``{"ema": ...}`` or the file itself)."""


def tensor_bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


class StateReader:
    """The tensors of one file's state dict, read lazily through a memory map (see the module docstring).

    ``layout`` (from the first load) gives every entry's shape and dtype as a meta tensor (other values as
    they are) without reading tensor data; :meth:`get` returns a tensor valid for as long as the caller
    holds it (a view into a mapping).
    """

    def __init__(self, path: str | Path, select: Selector, window: int = DEFAULT_WINDOW) -> None:
        self.path = Path(path)
        self._select = select
        self._window = window
        self._state: Mapping[str, Any] | None = None
        self._handed_out = 0
        self.layout: dict[str, Any] = {
            key: value.to("meta") if isinstance(value, torch.Tensor) else value for key, value in self._load().items()
        }
        self.release()

    @property
    def keys(self) -> list[str]:
        return list(self.layout)

    def _load(self) -> Mapping[str, Any]:
        self._state = self._select(read_checkpoint(self.path))
        self._handed_out = 0
        return self._state

    def get(self, key: str) -> Any:
        """The value of ``key`` (a memory-mapped tensor for tensors), from a fresh mapping when handing it out
        from the current one would pass the window."""
        meta = self.layout[key]
        size = tensor_bytes(meta) if isinstance(meta, torch.Tensor) else 0
        if self._state is None or (self._handed_out and self._handed_out + size > self._window):
            self.release()
            self._load()
        self._handed_out += size
        return self._state[key]

    def release(self) -> None:
        """Let go of the current mapping (its pages leave once no tensor handed out is alive)."""
        self._state = None
