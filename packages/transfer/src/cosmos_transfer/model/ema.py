"""Power EMA (EDM2) of the trainable parameters, as the reference's ``utils/ema.py::PowerEMATracker``.

- exponent ``gamma``: the largest real root of ``g^3 + 7 g^2 + (16 - s^-2) g + (12 - s^-2) = 0`` for the
  relative width ``s = sigma_rel`` (6.937203937601809 at s = 0.1);
- decay ``beta_t = (1 - 1/(t+1))^(gamma+1)``, and ``beta_0 = 0`` so the first update copies the weights;
- ``ema <- beta * ema + (1 - beta) * param`` over ``requires_grad`` parameters only, in fp32 buffers named
  ``param_name.replace(".", "-")`` (``register_buffer`` forbids dots). Over ``TransferNetworks`` that is
  the 93 ``net-*`` names of layout §4;
- data-parallel ranks 0, 1, 2 track ``s``, ``s/2``, ``s/4`` (``initialize_multi_rank_ema(rate=0.1, num=3)``);
  other ranks ``s``.

A training callback owns when ``update`` runs and whether the buffers are saved (``state_dict()``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SIGMA_REL = 0.1
DISTINCT_RANKS = 3


def power_ema_gamma(sigma_rel: float) -> float:
    """Exponent of the power EMA with relative standard deviation ``sigma_rel`` (EDM2 eq. 3)."""
    inverse_square = sigma_rel**-2
    return float(np.roots([1, 7, 16 - inverse_square, 12 - inverse_square]).real.max())


def power_ema_beta(iteration: int, gamma: float) -> float:
    """Decay at ``iteration``: 0 at iteration 0, else ``(1 - 1/(iteration+1))^(gamma+1)``."""
    if iteration == 0:
        return 0.0
    return (1 - 1 / (iteration + 1)) ** (gamma + 1)


def sigma_rel_for_rank(dp_rank: int, sigma_rel: float = SIGMA_REL, distinct_ranks: int = DISTINCT_RANKS) -> float:
    """``sigma_rel / 2^rank`` for the first ``distinct_ranks`` data-parallel ranks, ``sigma_rel`` beyond."""
    return sigma_rel / 2**dp_rank if dp_rank < distinct_ranks else sigma_rel


def buffer_name(parameter_name: str) -> str:
    return parameter_name.replace(".", "-")


class PowerEMA(nn.Module):
    """fp32 shadow copies of ``module``'s trainable parameters; buffers are the saved EMA state."""

    def __init__(self, module: nn.Module, sigma_rel: float = SIGMA_REL) -> None:
        super().__init__()
        self.sigma_rel = sigma_rel
        self.gamma = power_ema_gamma(sigma_rel)
        self.beta = 0.0
        for name, parameter in module.named_parameters():
            if parameter.requires_grad:
                self.register_buffer(buffer_name(name), parameter.detach().to(torch.float32, copy=True))

    def _pairs(self, module: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        buffers = dict(self.named_buffers())
        trainable = [(buffer_name(name), p) for name, p in module.named_parameters() if p.requires_grad]
        if [name for name, _ in trainable] != list(buffers):
            raise ValueError(
                f"module has {len(trainable)} trainable parameters that are not the {len(buffers)} the EMA tracks"
            )
        return [buffers[name] for name, _ in trainable], [parameter.detach() for _, parameter in trainable]

    @torch.no_grad()
    def update(self, module: nn.Module, iteration: int) -> None:
        """``ema <- beta_t * ema + (1 - beta_t) * param`` with ``beta_t`` of ``iteration``."""
        self.beta = power_ema_beta(iteration, self.gamma)
        targets, sources = self._pairs(module)
        torch._foreach_mul_(targets, self.beta)
        torch._foreach_add_(targets, [source.to(torch.float32) for source in sources], alpha=1.0 - self.beta)

    @torch.no_grad()
    def copy_to(self, module: nn.Module) -> None:
        """Write the EMA weights into ``module``'s trainable parameters (for evaluation or export)."""
        targets, sources = self._pairs(module)
        for ema, parameter in zip(targets, sources, strict=True):
            parameter.copy_(ema)
