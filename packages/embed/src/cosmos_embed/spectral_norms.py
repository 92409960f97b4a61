"""Spectral norms of a network's trainable weight matrices (the ``spectral_norm_monitor`` callback)."""

from __future__ import annotations

import torch
from torch import nn

from cosmos_embed.model.spectral import reparametrized
from cosmos_embed.model.weight_transforms import TransformedLinear


def _whole(tensor: torch.Tensor) -> torch.Tensor:
    """A plain tensor of all of ``tensor`` (a DTensor is gathered: collective)."""
    full = getattr(tensor, "full_tensor", None)
    return full() if callable(full) else tensor


@torch.no_grad()
def spectral_norms(network: nn.Module) -> dict[str, float]:
    """``{layer: largest singular value}`` of the weight each trainable linear applies (σReparam folded in,
    no DAMP noise). Weights tied to another parameter (the LM decoder) are the embedding matrix, left out."""
    from cosmos_embed.model.weight_transforms import trainable_linears

    names = set(trainable_linears(network))
    names |= {name for name, module in network.named_modules() if isinstance(module, TransformedLinear)}
    norms = {}
    for name in sorted(names):
        module = network.get_submodule(name)
        weight = _whole(module.weight.detach())
        spectral = getattr(module, "spectral", None)
        if spectral is not None:
            weight = reparametrized(weight, _whole(spectral.gamma.detach()), spectral.u, spectral.v)
        norms[name] = float(torch.linalg.matrix_norm(weight.float(), ord=2))
    return norms
