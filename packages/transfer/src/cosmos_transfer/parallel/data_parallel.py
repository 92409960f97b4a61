"""Data parallelism of the trainable control branch: FSDP2 ``fully_shard`` on the core mesh's data dims.

The reference trains the branch with DDP and keeps FSDP for other recipes (transfer1.md §5.8); here the
branch is ``fully_shard``-ed per transformer block, then as a whole for the rest (embedders, hint MLP,
``zero_blocks``), over ``dp_shard`` when FSDP is asked for, and as HSDP over ``(dp_replicate, dp_shard)``
when there are replicas too. Replicas without sharding (``dp_shard`` 1) go through the same call on the
2-D mesh, whose shard dimension then has one rank: PyTorch's DDP does not take DTensor parameters, and
FSDP2 composes with the tensor-parallel DTensors (a 2-D mesh with ``tp``). The frozen base needs no
gradient synchronisation and stays as it is (replicated over data-parallel ranks, split over ``tp``).
"""

from __future__ import annotations

from typing import Any

import torch
from cosmos_core.distributed import DistInfo
from cosmos_core.errors import UserInputError
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from cosmos_transfer.model.networks import TransferNetworks


class DataParallelLayoutError(UserInputError, ValueError):
    """The mesh's data-parallel layout and the parallelize options do not fit together."""


def data_parallel_mesh(dist: DistInfo) -> Any:
    """The mesh ``fully_shard`` runs on: ``dp_shard`` (1-D), ``(dp_replicate, dp_shard)`` with replicas,
    or None with a single data-parallel rank."""
    dims = dist.dims
    if dist.mesh is None or dist.dp_size == 1:
        return None
    if dims.dp_replicate == 1:
        return dist.mesh["dp_shard"]
    return dist.mesh["dp_replicate", "dp_shard"]


def apply_data_parallel(
    networks: TransferNetworks,
    dist: DistInfo,
    *,
    fsdp: bool,
    reshard_after_forward: bool = True,
    param_dtype: torch.dtype | None = None,
) -> None:
    """Shard (``fsdp``) or replicate the control branch over the data-parallel ranks, in place.

    ``param_dtype``: FSDP's mixed precision (all-gathered parameters in that dtype, gradients reduced in
    fp32); None keeps the parameters' own dtype (precision then comes from autocast).
    """
    mesh = data_parallel_mesh(dist)
    if mesh is None:
        return
    if dist.dims.dp_shard > 1 and not fsdp:
        raise DataParallelLayoutError(
            f"the device mesh shards data parallelism over dp_shard={dist.dims.dp_shard} ranks, which needs FSDP: "
            "enable it, or set dp_shard to 1"
        )
    if any(parameter.requires_grad for parameter in networks.base_model.parameters()):
        raise DataParallelLayoutError(
            "data parallelism here covers the control branch only, but the base model has trainable parameters; "
            "freeze the base (finetune_base_model=False) or train on one data-parallel rank"
        )
    policy = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32 if param_dtype else None)
    for block in networks.net.blocks.values():
        fully_shard(block, mesh=mesh, reshard_after_forward=reshard_after_forward, mp_policy=policy)
    fully_shard(networks.net, mesh=mesh, reshard_after_forward=reshard_after_forward, mp_policy=policy)
