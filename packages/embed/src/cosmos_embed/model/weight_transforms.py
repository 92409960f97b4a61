"""Training-time weight transforms of the trainable linears: σReparam (``train.spectral_reparam``) and
DAMP noise (``train.damp``).

:func:`transform_trainable_linears` replaces each trainable ``nn.Linear`` of a network by a
:class:`TransformedLinear` that shares its ``weight`` and ``bias`` (same state-dict keys) and computes
``F.linear(x, noise(σReparam(W)), b)``. Linears whose weight is tied to another parameter (the LM
decoder shares the word embeddings) and frozen ones are left alone; Transformer Engine layers are not
``nn.Linear`` and are not transformed either. σReparam also skips weights that start at zero (LoRA's
``lora_B``): there ``σ(W) = 0``, and ``γ / σ(W) · W`` would be undefined and keep ``W`` from ever moving.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cosmos_embed.model.damp import DampNoise
from cosmos_embed.model.spectral import SpectralReparam


class TransformedLinear(nn.Linear):
    """An ``nn.Linear`` whose weight passes through ``spectral`` (σReparam) and, in training, ``damp``."""

    def __init__(self, linear: nn.Linear, spectral: SpectralReparam | None, damp: DampNoise | None) -> None:
        nn.Module.__init__(self)  # not nn.Linear's: the parameters are the original layer's
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias
        self.spectral = spectral
        self.damp = damp
        self.train(linear.training)

    def effective_weight(self) -> torch.Tensor:
        weight = self.weight if self.spectral is None else self.spectral(self.weight)
        if self.damp is not None and self.training:
            weight = self.damp(weight)
        return weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.bias)


def trainable_linears(network: nn.Module) -> list[str]:
    """Names of the plain ``nn.Linear`` modules whose weight trains and is not shared with another name."""
    names_per_tensor: dict[int, int] = {}
    for _, parameter in network.named_parameters(remove_duplicate=False):
        names_per_tensor[id(parameter)] = names_per_tensor.get(id(parameter), 0) + 1
    return [
        name
        for name, module in network.named_modules()
        if type(module) is nn.Linear and module.weight.requires_grad and names_per_tensor[id(module.weight)] == 1
    ]


def transform_trainable_linears(network: nn.Module, *, spectral: bool, damp: DampNoise | None) -> list[str]:
    """Swap the :func:`trainable_linears` of ``network`` for :class:`TransformedLinear`; returns their names."""
    if not spectral and damp is None:
        return []
    names = trainable_linears(network)
    if damp is None:
        names = [name for name in names if not _starts_at_zero(name, network.get_submodule(name).weight)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = network.get_submodule(parent_name)
        linear = parent.get_submodule(child)
        reparam = (
            SpectralReparam(linear.weight, name) if spectral and not _starts_at_zero(name, linear.weight) else None
        )
        setattr(parent, child, TransformedLinear(linear, reparam, damp))
    return names


def _starts_at_zero(name: str, weight: torch.Tensor) -> bool:
    """LoRA's B matrices (zero at initialisation; known by name, so that a meta-device count agrees), or an
    all-zero weight."""
    return ".lora_B." in f".{name}." or (not weight.is_meta and not bool(weight.detach().any()))
