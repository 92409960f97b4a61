"""Each tensor-parallel rank loads its own ``<stem>_model_mp_{k}.pt`` into the parallelized networks.

As the reference's TP checkpointer does (``checkpoints_tp/base_model.pt`` → ``base_model_model_mp_{rank}.pt``),
rank ``k`` of the ``tp`` group reads only file ``k`` — never a whole checkpoint — through a bounded memory map
(:class:`cosmos_transfer.tp.reader.StateReader`), copying tensor by tensor into its parameters, whatever
they are: plain tensors, ``tp`` DTensors, or FSDP-sharded ones (each data-parallel rank keeps its part).
The set must have been split for this run's TP size, and the keys and local shapes must match exactly
(strict, as :mod:`cosmos_transfer.model.loading` is); nothing is copied otherwise.

The files' layouts (layout §2–§4): ``base_model.pt`` shards hold ``base_model.net.*`` (and
``base_model.logvar.*``), control shards ``net.*``, training checkpoints ``{"model": net.*, logvar.*,
base_model.*}`` — chosen from ``"ema"`` / ``"model"`` / flat as the single-file loaders choose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from cosmos_core.distributed import DistInfo
from cosmos_core.errors import UserInputError
from cosmos_core.training.dtensor_state import like
from torch import nn

from cosmos_transfer.model.loading import CheckpointKeyMismatchError, read_checkpoint, select_state
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.tp.reader import StateReader
from cosmos_transfer.tp.recognize import BASE_PREFIX, EXTRA_STATE_SUFFIX, LOGVAR_PREFIX, NET_PREFIX
from cosmos_transfer.tp.shards import find_shard_set

KEEP = ("tp",)  # the files are sharded along tp only, as the sharded checkpointer keeps them
SHOWN_KEYS = 8


class ShardLayoutError(UserInputError, ValueError):
    """A shard set does not fit this run's tensor parallelism."""


@dataclasses.dataclass(frozen=True)
class ShardLoadReport:
    path: Path  # the file this rank read
    source: str  # "ema", "model" or "flat"
    loaded: int
    skipped: tuple[str, ...]  # keys of other modules (base_model.*, logvar.* in a control file)


def rank_shard(checkpoint: str | Path, dist: DistInfo) -> Path:
    """This rank's ``<stem>_model_mp_{tp_rank}.pt`` of ``checkpoint``, once the set is checked to have one
    file per rank of this run's tensor parallelism."""
    shards = find_shard_set(checkpoint)
    if shards.tp != dist.tp_size:
        raise ShardLayoutError(
            f"{checkpoint} is split into {shards.tp} tensor-parallel shards but this run uses tensor parallelism "
            f"{dist.tp_size}: convert it with 'cosmos-run cosmos-transfer1 convert_tp CONSOLIDATED --tp "
            f"{dist.tp_size}' (merge_tp joins the shards into CONSOLIDATED)"
        )
    return shards.paths[dist.tp_rank]


def tp_local_shape(tensor: torch.Tensor) -> tuple[int, ...]:
    """The shape of ``tensor`` split along ``tp`` only: what one rank's shard file holds."""
    from torch.distributed.tensor import DTensor

    shape = list(tensor.shape)
    if isinstance(tensor, DTensor):
        names = tensor.device_mesh.mesh_dim_names or ()
        for index, placement in enumerate(tensor.placements):
            if index < len(names) and names[index] == "tp" and placement.is_shard():
                shape[placement.dim] //= tensor.device_mesh.size(index)
    return tuple(shape)


def _shown(keys: list[str]) -> str:
    return ", ".join(keys[:SHOWN_KEYS]) + (f", ... ({len(keys) - SHOWN_KEYS} more)" if len(keys) > SHOWN_KEYS else "")


def _load_module(module: nn.Module, reader: StateReader, names: Mapping[str, str], what: str) -> int:
    """Copy file entries ``names[key]`` into ``module.state_dict()[key]``; strict on keys and local shapes."""
    live = module.state_dict()
    missing = [key for key in live if key not in names]
    unexpected = [names[key] for key in names if key not in live]
    mismatched = [
        f"{names[key]} {tuple(reader.layout[names[key]].shape)} (expected {tp_local_shape(value)})"
        for key, value in live.items()
        if key in names and tuple(reader.layout[names[key]].shape) != tp_local_shape(value)
    ]
    if missing or unexpected or mismatched:
        lines = [f"{reader.path}: does not match this rank's {what}; nothing was loaded"]
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched)):
            if keys:
                lines.append(f"  {len(keys)} {label}: {_shown(keys)}")
        raise CheckpointKeyMismatchError("\n".join(lines), missing, unexpected, mismatched)
    with torch.no_grad():
        for key, value in live.items():
            saved = reader.get(names[key])
            value.copy_(like(saved, value, KEEP) if _is_dtensor(value) else saved)
    reader.release()
    return len(live)


def _is_dtensor(value: Any) -> bool:
    from torch.distributed.tensor import DTensor

    return isinstance(value, DTensor)


def _reader(path: Path, prefer_ema: bool) -> tuple[str, StateReader]:
    """(which part of the file is used, a reader of it)."""
    reader = StateReader(path, lambda checkpoint: select_state(checkpoint, prefer_ema)[1])
    return select_state(read_checkpoint(path), prefer_ema)[0], reader


def _entries(reader: StateReader) -> list[str]:
    return [key for key in reader.keys if not key.endswith(EXTRA_STATE_SUFFIX)]


def _under(prefix: str, keys: Mapping[str, str]) -> dict[str, str]:
    return {key[len(prefix) :]: original for key, original in keys.items() if key.startswith(prefix)}


def load_base_shards(
    networks: TransferNetworks, checkpoint: str | Path, dist: DistInfo, *, logvar: bool = True
) -> ShardLoadReport:
    """This rank's shard of a split ``base_model.pt`` into the base DiT and (``logvar``) the logvar head.

    Keys may carry ``base_model.``; the file's ``"ema"`` is preferred over ``"model"``, as the reference's
    ``load_base_model`` does.
    """
    path = rank_shard(checkpoint, dist)
    source, reader = _reader(path, prefer_ema=True)
    stripped = {key.removeprefix(BASE_PREFIX): key for key in _entries(reader)}
    foreign = [key for key in stripped if not key.startswith((NET_PREFIX, LOGVAR_PREFIX))]
    if foreign or len(stripped) != len(_entries(reader)):
        raise CheckpointKeyMismatchError(
            f"{path}: not a base-model shard (net.* and logvar.*, optionally under base_model.): {_shown(foreign)}",
            [],
            foreign,
            [],
        )
    loaded = _load_module(networks.base_net, reader, _under(NET_PREFIX, stripped), "base DiT (net.*)")
    logvar_keys = _under(LOGVAR_PREFIX, stripped)
    skipped: tuple[str, ...] = tuple(logvar_keys.values())
    if logvar:
        loaded += _load_module(networks.logvar, reader, logvar_keys, "logvar head (logvar.*)")
        skipped = ()
    return ShardLoadReport(path, source, loaded, skipped)


def load_control_shards(
    networks: TransferNetworks, checkpoint: str | Path, dist: DistInfo, *, use_ema: bool = False
) -> ShardLoadReport:
    """This rank's shard of a split ``<modality>_control.pt`` (or of a training checkpoint) into the branch;
    ``base_model.*`` and ``logvar.*`` entries are skipped."""
    path = rank_shard(checkpoint, dist)
    source, reader = _reader(path, prefer_ema=use_ema)
    entries = {key: key for key in _entries(reader)}
    skipped = tuple(key for key in entries if key.startswith((BASE_PREFIX, LOGVAR_PREFIX)))
    branch = {key: original for key, original in entries.items() if key not in skipped}
    foreign = [key for key in branch if not key.startswith(NET_PREFIX)]
    if foreign:
        raise CheckpointKeyMismatchError(
            f"{path}: not a control-branch shard (net.* keys): {_shown(foreign)}", [], foreign, []
        )
    loaded = _load_module(networks.net, reader, _under(NET_PREFIX, branch), "control branch (net.*)")
    return ShardLoadReport(path, source, loaded, skipped)


def load_network_shards(networks: TransferNetworks, checkpoint: str | Path, dist: DistInfo) -> ShardLoadReport:
    """This rank's shard of a training checkpoint's ``"model"`` (branch, logvar and base) into ``networks``."""
    path = rank_shard(checkpoint, dist)
    source, reader = _reader(path, prefer_ema=False)
    loaded = _load_module(networks, reader, {key: key for key in _entries(reader)}, "networks")
    return ShardLoadReport(path, source, loaded, ())
