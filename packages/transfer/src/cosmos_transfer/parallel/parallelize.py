"""One call that lays ``TransferNetworks`` out on the core's device mesh (a training module's ``parallelize``).

Order, as torchtitan and the core's Trainer expect (the module may still be on the meta device): frozen
base cast, activation checkpointing switch, tensor + sequence parallelism on ``"tp"``, then FSDP2 of the
control branch on the data-parallel dimensions. Materialising (``to_empty`` + weights) and the optimizer
come after, in the Trainer.
"""

from __future__ import annotations

import torch
from cosmos_core.distributed import DistInfo

from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.parallel.data_parallel import apply_data_parallel
from cosmos_transfer.parallel.tensor_parallel import apply_tensor_parallel


def parallelize_networks(
    networks: TransferNetworks,
    dist: DistInfo,
    *,
    sequence_parallel: bool = True,
    fsdp: bool = False,
    activation_checkpointing: bool = False,
    frozen_base_dtype: torch.dtype | None = None,
    network_dtype: torch.dtype | None = None,
    fsdp_param_dtype: torch.dtype | None = None,
    reshard_after_forward: bool = True,
) -> TransferNetworks:
    """Parallelize ``networks`` in place for ``dist`` and return it.

    :param sequence_parallel: with ``dist.tp_size > 1``, shard the blocks' token axis over ``tp`` (the
        reference's ``sequence_parallel=True``); the latent token count must then divide by the TP size.
    :param fsdp: ``fully_shard`` the control branch over ``dp_shard`` (required when ``dp_shard > 1``).
    :param activation_checkpointing: recompute every transformer block (base and branch) in backward.
    :param frozen_base_dtype: cast the frozen base DiT and the shared logvar head first (``torch.bfloat16``
        halves their memory; the forward then needs autocast to that dtype).
    :param network_dtype: cast the whole networks (base, branch, logvar heads) to it: ``torch.bfloat16`` for
        bf16 training with fp32 master weights in the optimizer (the reference's way), with no autocast.
    :param fsdp_param_dtype: FSDP mixed precision of the branch (see :func:`apply_data_parallel`).
    :param reshard_after_forward: FSDP frees gathered parameters after forward (gathers again in backward).
    """
    prepare_networks(
        networks,
        activation_checkpointing=activation_checkpointing,
        frozen_base_dtype=frozen_base_dtype,
        network_dtype=network_dtype,
    )
    if dist.tp_size > 1:
        apply_tensor_parallel(networks, dist.mesh["tp"], sequence_parallel=sequence_parallel)
    apply_data_parallel(
        networks, dist, fsdp=fsdp, reshard_after_forward=reshard_after_forward, param_dtype=fsdp_param_dtype
    )
    return networks


def prepare_networks(
    networks: TransferNetworks,
    *,
    activation_checkpointing: bool = False,
    frozen_base_dtype: torch.dtype | None = None,
    network_dtype: torch.dtype | None = None,
) -> TransferNetworks:
    """The layout-independent first step of :func:`parallelize_networks` (dtypes, activation
    checkpointing), also what a single data-parallel layout without TP or FSDP needs before DDP."""
    if frozen_base_dtype is not None:
        networks.base_model.to(frozen_base_dtype)
    if network_dtype is not None:
        networks.to(network_dtype)
    networks.net.activation_checkpointing = activation_checkpointing
    networks.base_net.activation_checkpointing = activation_checkpointing
    return networks
