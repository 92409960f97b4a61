"""A small causal 3D-conv video autoencoder with the released tokenizer's interface, for the tiny experiments.

Same contract as Cosmos-Tokenize1-CV8x8x8 (by default 16 latent channels, 8x spatial and 8x temporal
compression, ``1 + 8k`` frames → ``1 + k`` latent frames), small enough to train on CPU in seconds on the
generated sample videos.

Causality in time follows the Cosmos tokenizer's idea: the clip is front-padded with ``c - 1`` copies of
its first frame, so frame 0 forms a latent frame on its own and every later group of ``c`` frames forms
one; the decoder drops the ``c - 1`` padded frames again. Latents are normalised per channel with
``latent_mean`` / ``latent_std`` buffers (saved with the weights), fitted after training.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cosmos_transfer.tokenizer.interface import causal_latent_frames, causal_pixel_frames

GROUPS = 4


def _spatial_stages(spatial_compression: int) -> int:
    stages = int(math.log2(spatial_compression))
    if spatial_compression < 2 or 2**stages != spatial_compression:
        raise ValueError(f"spatial_compression must be a power of two >= 2, got {spatial_compression}")
    return stages


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(GROUPS, channels), channels)


class FrameWise(nn.Sequential):
    """2D layers applied to every frame of ``[B, C, T, H, W]`` (much faster on CPU than (1, k, k) 3D convs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = super().forward(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, *y.shape[1:]).transpose(1, 2)


class VideoAutoencoder(nn.Module):
    def __init__(
        self,
        *,
        latent_channels: int = 16,
        spatial_compression: int = 8,
        temporal_compression: int = 8,
        width: int = 16,
    ) -> None:
        super().__init__()
        self.latent_channels = latent_channels
        self.spatial_compression = spatial_compression
        self.temporal_compression = temporal_compression
        self.width = width
        stages = _spatial_stages(spatial_compression)
        widths = [width * 2**i for i in range(stages + 1)]
        tc, deepest = temporal_compression, widths[-1]

        # Per-frame GroupNorm after every 2D conv: without it training stalls at "right colours, no shape".
        down: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), _norm(widths[0]), nn.SiLU()]
        for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
            down += [nn.Conv2d(w_in, w_out, 4, stride=2, padding=1), _norm(w_out), nn.SiLU()]
        self.encoder = nn.Sequential(
            FrameWise(*down),
            nn.Conv3d(deepest, deepest, (tc, 1, 1), stride=(tc, 1, 1)),
            nn.SiLU(),
            nn.Conv3d(deepest, latent_channels, 1),
        )

        up: list[nn.Module] = []
        for w_in, w_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
            up += [nn.ConvTranspose2d(w_in, w_out, 4, stride=2, padding=1), _norm(w_out), nn.SiLU()]
        up.append(nn.Conv2d(widths[0], 3, 3, padding=1))
        self.decoder = nn.Sequential(
            nn.Conv3d(latent_channels, deepest, 1),
            nn.SiLU(),
            nn.ConvTranspose3d(deepest, deepest, (tc, 1, 1), stride=(tc, 1, 1)),
            nn.SiLU(),
            FrameWise(*up),
        )

        self.register_buffer("latent_mean", torch.zeros(1, latent_channels, 1, 1, 1))
        self.register_buffer("latent_std", torch.ones(1, latent_channels, 1, 1, 1))

    def latent_num_frames(self, num_pixel_frames: int) -> int:
        return causal_latent_frames(num_pixel_frames, self.temporal_compression)

    def pixel_num_frames(self, num_latent_frames: int) -> int:
        return causal_pixel_frames(num_latent_frames, self.temporal_compression)

    def encode_raw(self, video: torch.Tensor) -> torch.Tensor:
        """Unnormalised latent of ``video [B, 3, 1 + c k, H, W]`` in [-1, 1] (differentiable)."""
        self.latent_num_frames(video.shape[2])
        if video.shape[-1] % self.spatial_compression or video.shape[-2] % self.spatial_compression:
            raise ValueError(f"frame size {tuple(video.shape[-2:])} is not a multiple of {self.spatial_compression}")
        first = video[:, :, :1].expand(-1, -1, self.temporal_compression - 1, -1, -1)
        return self.encoder(torch.cat([first, video], dim=2))

    def decode_raw(self, latent: torch.Tensor) -> torch.Tensor:
        """Video of an unnormalised latent (differentiable)."""
        return self.decoder(latent)[:, :, self.temporal_compression - 1 :]

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        return (self.encode_raw(video) - self.latent_mean) / self.latent_std

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.decode_raw(latent * self.latent_std + self.latent_mean)
