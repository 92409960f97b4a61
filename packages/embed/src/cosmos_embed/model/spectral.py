"""σReparam (Zhai et al., "Stabilizing Transformer Training by Preventing Attention Entropy Collapse",
ICML 2023): a linear weight ``W`` is used as ``Ŵ = γ / σ(W) · W``.

``σ(W)`` is the spectral norm (largest singular value), estimated by power iteration with the vectors
``u`` [out] and ``v`` [in] kept as buffers: one iteration per training forward, none in evaluation, and
``σ = uᵀ W v`` with ``u``, ``v`` held constant so the gradient flows through ``W`` in both places. ``γ``
is a learned scalar. Unlike the paper (``γ = 1`` from scratch) we start at ``γ = σ(W)``: enabling it on
pretrained or freshly initialised weights leaves the network's function unchanged.

State-dict layout: the linear keeps ``<name>.weight`` (the raw ``W``) and gains ``<name>.spectral.gamma``,
``<name>.spectral.u`` and ``<name>.spectral.v``. :func:`fold_spectral_state` turns such a state dict into
plain weights (``Ŵ`` under ``<name>.weight``), which every reader of checkpoints applies.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

PREFIX = "spectral."
GAMMA_KEY = PREFIX + "gamma"
INIT_ITERATIONS = 50
"""Power iterations at set-up; the per-step iteration then only tracks the slowly changing weight."""


def reparametrized(weight: torch.Tensor, gamma: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``γ / (uᵀ W v) · W``, computed in fp32 whatever the autocast context (σ in bf16 is too coarse)."""
    with torch.autocast(weight.device.type, enabled=False):
        sigma = torch.dot(u.float(), torch.mv(weight.float(), v.float()))
        return (weight.float() * (gamma.float() / sigma)).to(weight.dtype)


def _power_iteration(weight: torch.Tensor, u: torch.Tensor, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    matrix = weight.detach().float()
    for _ in range(iterations):
        v = F.normalize(torch.mv(matrix.T, u), dim=0, eps=1e-12)
        u = F.normalize(torch.mv(matrix, v), dim=0, eps=1e-12)
    return u, v


def initial_state(weight: torch.Tensor, name: str) -> dict[str, torch.Tensor]:
    """``gamma``, ``u``, ``v`` for ``weight``: power iteration from a start seeded by ``name`` (the same on
    every rank and every run), ``γ = σ(W)``."""
    generator = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    start = F.normalize(torch.randn(weight.shape[0], generator=generator), dim=0).to(weight.device)
    u, v = _power_iteration(weight, start, INIT_ITERATIONS)
    sigma = torch.dot(u, torch.mv(weight.detach().float(), v))
    return {"gamma": sigma.reshape(1).to(weight.dtype), "u": u, "v": v}


class SpectralReparam(nn.Module):
    """The σReparam of one linear weight: holds ``gamma`` (shape [1], so FSDP can shard it), ``u``, ``v``."""

    def __init__(self, weight: torch.Tensor, name: str) -> None:
        super().__init__()
        out_features, in_features = weight.shape
        self.gamma = nn.Parameter(torch.ones(1, device=weight.device, dtype=weight.dtype))
        self.register_buffer("u", torch.zeros(out_features, device=weight.device))
        self.register_buffer("v", torch.zeros(in_features, device=weight.device))
        if not weight.is_meta:
            state = initial_state(weight, name)
            with torch.no_grad():
                self.gamma.copy_(state["gamma"])
                self.u.copy_(state["u"])
                self.v.copy_(state["v"])

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return reparametrized(weight, self.gamma, self.u, self.v)
        with torch.no_grad():
            u, v = _power_iteration(weight, self.u, 1)
            self.u.copy_(u)
            self.v.copy_(v)
        # Clones: a later forward (before this backward) updates the buffers in place.
        return reparametrized(weight, self.gamma, self.u.clone(), self.v.clone())


def spectral_layers(state: Mapping[str, torch.Tensor]) -> list[str]:
    """The key prefixes (``"vision_proj."``; ``""`` for a lone layer) of the σReparam layers in ``state``."""
    return [key[: -len(GAMMA_KEY)] for key in state if key == GAMMA_KEY or key.endswith("." + GAMMA_KEY)]


def has_spectral_state(state: Mapping[str, torch.Tensor]) -> bool:
    return bool(spectral_layers(state))


def fold_spectral_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with every σReparam folded into its plain weight (exactly the evaluation-mode weight)."""
    folded = dict(state)
    for prefix in spectral_layers(state):
        gamma, u, v = (folded.pop(f"{prefix}{PREFIX}{part}") for part in ("gamma", "u", "v"))
        folded[f"{prefix}weight"] = reparametrized(state[f"{prefix}weight"], gamma, u, v)
    return folded


def expand_to_spectral(state: Mapping[str, torch.Tensor], prefixes: list[str]) -> dict[str, torch.Tensor]:
    """``state`` with σReparam state for the plain weights of the layers at ``prefixes``, computed from the
    weights themselves (``γ = σ(W)``, the start :class:`SpectralReparam` would make)."""
    expanded = dict(state)
    for prefix in prefixes:
        for part, value in initial_state(state[f"{prefix}weight"], prefix.rstrip(".")).items():
            expanded[f"{prefix}{PREFIX}{part}"] = value
    return expanded
