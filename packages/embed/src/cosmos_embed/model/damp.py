"""DAMP, Data Augmentation via Multiplicative Perturbations (Trinh, Heinonen, Acerbi and Kaski, "Improving
robustness to corruptions with multiplicative weight perturbations", NeurIPS 2024).

Every training forward uses the weights multiplied element-wise by fresh noise ``ξ ~ N(1, σ²)``; the
gradient is taken at the perturbed weights (autograd through ``W ∘ ξ`` gives the paper's
``∇L(W ∘ ξ) ∘ ξ``), and the update applies to ``W`` itself. Multiplicative weight noise acts like a family
of input corruptions, which is what makes the trained model robust to them. Each data-parallel rank
draws its own noise (the loop seeds every rank differently), as the paper's per-device sub-batches do.
Evaluation never perturbs. ``train.damp.beta`` is ``σ``; :func:`damp_std` gives the schedule.
"""

from __future__ import annotations

from typing import Literal

import torch


class DampNoise:
    """The multiplicative weight noise shared by the perturbed layers; ``std`` is set by the schedule."""

    def __init__(self, std: float) -> None:
        self.std = float(std)

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        if self.std == 0.0:
            return weight
        return weight * (1.0 + self.std * torch.randn_like(weight))


def damp_std(beta: float, mode: Literal["const", "dynamic"], lr_ratio: float) -> float:
    """``const``: ``β``; ``dynamic``: ``β`` times the learning rate over its peak (``lr_ratio``), so the noise
    grows with warm-up and fades as the schedule decays."""
    return beta if mode == "const" else beta * lr_ratio
