"""Input embeddings of the DiT: patchifying Linear embedder and the AdaLN-LoRA timestep embedder.

Reference: ``diffusion/training/modules/blocks.py`` (``PatchEmbed`` with ``legacy_patch_emb=False``,
``SDXLTimesteps``, ``SDXLTimestepEmbedding`` with ``use_adaln_lora=True``).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Patchify(nn.Module):
    """``[B, C, T, H, W]`` → ``[B, T/r, H/m, W/n, C*r*m*n]``, features ordered ``(c r m n)`` as the reference's
    rearrange, so released embedder weights apply unchanged."""

    def __init__(self, spatial: int, temporal: int) -> None:
        super().__init__()
        self.spatial = spatial
        self.temporal = temporal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        r, m = self.temporal, self.spatial
        if t % r or h % m or w % m:
            raise ValueError(f"input {t}x{h}x{w} is not divisible by the patch size {r}x{m}x{m}")
        x = x.reshape(b, c, t // r, r, h // m, m, w // m, m)
        x = x.permute(0, 2, 4, 6, 1, 3, 5, 7)
        return x.reshape(b, t // r, h // m, w // m, c * r * m * m)


class PatchEmbed(nn.Module):
    """Patchify then a bias-free Linear (key ``proj.1.weight``)."""

    def __init__(self, in_channels: int, out_channels: int, spatial: int, temporal: int) -> None:
        super().__init__()
        patch_features = in_channels * spatial * spatial * temporal
        self.proj = nn.Sequential(Patchify(spatial, temporal), nn.Linear(patch_features, out_channels, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W]`` → ``[B, T', H', W', D]``."""
        return self.proj(x)


class SinusoidalTimesteps(nn.Module):
    """``[B]`` → ``[B, num_channels]`` = ``[cos, sin]`` of ``t * exp(-ln(10000) i / half)``."""

    def __init__(self, num_channels: int) -> None:
        super().__init__()
        self.num_channels = num_channels

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        half = self.num_channels // 2
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half
        angles = timesteps[:, None].float() * torch.exp(exponent)[None, :]
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1).to(timesteps.dtype)


class TimestepAdaLNLoRA(nn.Module):
    """The timestep MLP in AdaLN-LoRA mode: returns the sinusoid itself (the blocks' modulation input) and
    the MLP output ``[B, 3D]`` that every AdaLN head adds to its own low-rank projection."""

    def __init__(self, model_channels: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(model_channels, model_channels, bias=False)
        self.activation = nn.SiLU()
        self.linear_2 = nn.Linear(model_channels, 3 * model_channels, bias=False)

    def forward(self, sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return sample, self.linear_2(self.activation(self.linear_1(sample)))
