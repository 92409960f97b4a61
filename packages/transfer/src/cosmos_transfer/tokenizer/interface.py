"""What the diffusion code needs from a video tokenizer, and the causal frame arithmetic they share.

Both tokenizers are causal in time: a clip of ``1 + c*k`` frames becomes ``1 + k`` latent frames (the first
frame is its own latent frame), so the 121-frame clips of the 720p tokenizer (8x8x8) give 16 latent frames.
Videos are ``[B, 3, T, H, W]`` in [-1, 1]; latents are ``[B, C, T', H/s, W/s]``, normalised per channel
(the diffusion model multiplies them by sigma_data).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class VideoTokenizer(Protocol):
    """Implemented by ``JITVideoTokenizer`` and ``VideoAutoencoder``."""

    latent_channels: int
    spatial_compression: int
    temporal_compression: int

    def encode(self, video: torch.Tensor) -> torch.Tensor: ...

    def decode(self, latent: torch.Tensor) -> torch.Tensor: ...

    def latent_num_frames(self, num_pixel_frames: int) -> int: ...


def causal_latent_frames(num_pixel_frames: int, temporal_compression: int) -> int:
    """``1 + (T - 1) / c``; ``T - 1`` must be a multiple of ``c``."""
    if num_pixel_frames < 1 or (num_pixel_frames - 1) % temporal_compression:
        raise ValueError(
            f"a causal tokenizer with temporal compression {temporal_compression} takes 1 + "
            f"{temporal_compression}k frames, got {num_pixel_frames}"
        )
    return (num_pixel_frames - 1) // temporal_compression + 1


def causal_pixel_frames(num_latent_frames: int, temporal_compression: int) -> int:
    """``1 + (T' - 1) c``."""
    if num_latent_frames < 1:
        raise ValueError(f"need at least one latent frame, got {num_latent_frames}")
    return (num_latent_frames - 1) * temporal_compression + 1


def uint8_to_unit_range(video: torch.Tensor) -> torch.Tensor:
    """uint8 ``[0, 255]`` → float ``[-1, 1]`` (``x / 127.5 - 1``, the reference's normalisation)."""
    return video.float() / 127.5 - 1.0


def unit_range_to_uint8(video: torch.Tensor) -> torch.Tensor:
    """float ``[-1, 1]`` → uint8, clamped."""
    return ((video.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
