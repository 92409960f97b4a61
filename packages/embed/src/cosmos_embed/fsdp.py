"""FSDP2 (``fully_shard``) of the Cosmos-Embed1 training module on the core's device mesh (``model.fsdp``).

Groups, innermost first: each EVA-ViT block, the rest of the visual encoder, each Q-Former layer, and
the training module itself (embeddings, heads, everything else), all on the 2-D mesh
``(dp_replicate, dp_shard)``: parameters are sharded along ``dp_shard`` and replicated along
``dp_replicate`` (HSDP when both are > 1, plain FSDP when ``dp_replicate`` is 1).

Every group reshards after its forward, so between steps every managed parameter is a sharded
DTensor (EMA shadows, checkpoints and monitors rely on it). FSDP2 cannot shard 0-d parameters, so
``logit_scale`` / ``logit_bias`` stay replicated plain tensors outside FSDP; their gradients are
averaged over the data-parallel ranks by a hook, as FSDP averages the others.
"""

from __future__ import annotations

import functools

import torch
import torch.distributed as dist
from cosmos_core.distributed import DistInfo
from torch import nn

ENCODE_METHODS = ("get_video_embeddings", "get_text_embeddings", "visual_tokens")
"""Training-module methods that run the network outside ``forward`` (validation metrics, visualizers):
registered with FSDP so their parameters are gathered for them as for ``forward``."""


def shard_training_module(module: nn.Module, info: DistInfo) -> None:
    """Apply FSDP2 to ``module`` (an :class:`~cosmos_embed.training_module.Embed1TrainingModule`) in place."""
    from torch.distributed.fsdp import fully_shard, register_fsdp_forward_method

    mesh = info.mesh["dp_replicate", "dp_shard"]
    network = module.network
    scalars = {parameter for parameter in module.parameters() if parameter.dim() == 0}
    shard = functools.partial(fully_shard, mesh=mesh, reshard_after_forward=True)
    for block in network.visual_encoder.blocks:
        shard(block)
    shard(network.visual_encoder)
    for layer in network.qformer.bert.encoder.layer:
        shard(layer)
    shard(module, ignored_params=scalars)
    for method in ENCODE_METHODS:
        register_fsdp_forward_method(module, method)
    group = info.dp_mesh.get_group()
    for parameter in scalars:
        if parameter.requires_grad:
            parameter.register_post_accumulate_grad_hook(functools.partial(_average_gradient, group=group))


def _average_gradient(parameter: torch.Tensor, group: dist.ProcessGroup) -> None:
    """Mean of the ranks' gradients (after each accumulation: averaging is linear, so accumulated micro-batch
    gradients end up as the sum of their means, exactly as FSDP's reduce-scatter leaves the others)."""
    dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM, group=group)
    parameter.grad.div_(dist.get_world_size(group))
