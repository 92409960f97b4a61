"""Control hints to latents: each 3-channel condition through the same frozen tokenizer as the video.

Reference: ``training/models/model_ctrl.py::encode_latent``: conditions are concatenated along channels
(3 each); a dropped condition becomes zeros (mid-grey in [-1, 1], though the reference's comment says
black); ``_grayscale`` hint keys average to one channel and repeat it to 3; every latent is
``tokenizer.encode(x) * sigma_data``, and they are concatenated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from cosmos_transfer.diffusion.edm import SIGMA_DATA


def encode_hint(
    encode: Callable[[torch.Tensor], torch.Tensor],
    hint_video: torch.Tensor,
    keep: Sequence[bool],
    *,
    grayscale: bool = False,
    sigma_data: float = SIGMA_DATA,
) -> torch.Tensor:
    """``hint_video [B, 3k, T, H, W]`` in [-1, 1] → ``[B, k * latent_channels, T', H', W']``."""
    if hint_video.shape[1] % 3:
        raise ValueError(f"a hint holds 3-channel conditions, got {hint_video.shape[1]} channels")
    groups = hint_video.split(3, dim=1)
    if len(keep) != len(groups):
        raise ValueError(f"keep has {len(keep)} entries for {len(groups)} conditions")
    latents = []
    for rgb, kept in zip(groups, keep, strict=True):
        if grayscale:
            rgb = rgb.mean(dim=1, keepdim=True).expand_as(rgb)
        if not kept:
            rgb = torch.zeros_like(rgb)
        latents.append(encode(rgb) * sigma_data)
    return torch.cat(latents, dim=1)
