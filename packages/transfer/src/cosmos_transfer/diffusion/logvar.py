"""The learned log-variance head ``u(c_noise)`` of the Kendall-weighted EDM loss.

Reference: ``training/models/model_image.py::build_model`` builds ``logvar = Sequential(FourierFeatures(128,
normalize=True), Linear(128, 1, bias=False))`` (``diffusion/module/blocks.py::FourierFeatures``). Keys:
``0.freqs`` and ``0.phases`` (persistent buffers), ``1.weight`` (layout §2). In control training it belongs
to the frozen base, so ``u`` is fixed.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierFeatures(nn.Module):
    """``[B]`` → ``[B, num_channels]`` = ``gain * cos(x * freqs + phases)``, random fixed freqs and phases."""

    def __init__(self, num_channels: int, bandwidth: float = 1.0, normalize: bool = False) -> None:
        super().__init__()
        self.register_buffer("freqs", 2 * math.pi * bandwidth * torch.randn(num_channels))
        self.register_buffer("phases", 2 * math.pi * torch.rand(num_channels))
        self.gain = math.sqrt(2) if normalize else 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.outer(x.float(), self.freqs.float()) + self.phases.float()
        return (features.cos() * self.gain).to(x.dtype)


class LogVarHead(nn.Sequential):
    """``c_noise [B]`` → ``u [B, 1]``."""

    def __init__(self, num_channels: int = 128) -> None:
        super().__init__(FourierFeatures(num_channels, normalize=True), nn.Linear(num_channels, 1, bias=False))
