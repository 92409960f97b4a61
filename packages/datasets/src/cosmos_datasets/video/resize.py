"""Resizing frames without torchvision (whose CPU wheels do not import with CPU torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize uint8 frames ``[T, C, H, W]`` to ``size = (H, W)``: antialiased bilinear, uint8 out."""
    if frames.dtype != torch.uint8 or frames.dim() != 4:
        raise ValueError(f"expected uint8 frames [T, C, H, W], got {frames.dtype} {tuple(frames.shape)}")
    height, width = size
    if frames.shape[-2:] == (height, width):
        return frames
    resized = F.interpolate(
        frames.float(), size=(height, width), mode="bilinear", align_corners=False, antialias=True
    )
    return resized.round_().clamp_(0, 255).to(torch.uint8)
