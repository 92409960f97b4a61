"""Positional embeddings of the DiT: 3D rotary angles for self-attention and the learnable per-axis table.

Facts from the reference's ``diffusion/module/position_embedding.py`` (``VideoRopePosition3DEmb``,
``LearnablePosEmbAxis``) and TransformerEngine's non-interleaved ``apply_rotary_pos_emb``.
Tokens are flattened in (t, h, w) order, as the reference's ``(t h w)`` rearranges.
"""

from __future__ import annotations

import torch
from torch import nn


class VideoRope3D(nn.Module):
    """Rotary angles ``[T*H*W, head_dim]`` for a latent token grid.

    Each head's dims split into t / h / w parts (head 128: 44 / 42 / 42); each part's frequencies are
    ``1 / theta^(2i/dim)`` with ``theta = 10000 * ratio^(dim/(dim-2))`` (NTK scaling by the extrapolation
    ratio). Temporal positions are frame indices scaled by ``base_fps / fps`` (one fps per video batch, as
    the reference requires); spatial positions are plain indices. The angle vector is ``[t, h, w]`` repeated
    twice, for rotate-half application.
    """

    def __init__(
        self,
        *,
        head_dim: int,
        len_h: int,
        len_w: int,
        len_t: int,
        base_fps: int = 24,
        h_extrapolation_ratio: float = 1.0,
        w_extrapolation_ratio: float = 1.0,
        t_extrapolation_ratio: float = 1.0,
    ) -> None:
        super().__init__()
        # Persistent in the reference, so it is a checkpoint key (``pos_embedder.seq``).
        self.register_buffer("seq", torch.arange(max(len_h, len_w, len_t), dtype=torch.float))
        self.max_h, self.max_w, self.max_t = len_h, len_w, len_t
        self.base_fps = base_fps
        self.dim_h = head_dim // 6 * 2
        self.dim_w = self.dim_h
        self.dim_t = head_dim - 2 * self.dim_h
        self.h_ntk_factor = h_extrapolation_ratio ** (self.dim_h / (self.dim_h - 2))
        self.w_ntk_factor = w_extrapolation_ratio ** (self.dim_w / (self.dim_w - 2))
        self.t_ntk_factor = t_extrapolation_ratio ** (self.dim_t / (self.dim_t - 2))

    def reset_buffers(self) -> None:
        self.seq.copy_(torch.arange(self.seq.numel(), dtype=self.seq.dtype, device=self.seq.device))

    def _frequencies(self, dim: int, ntk_factor: float) -> torch.Tensor:
        exponents = torch.arange(0, dim, 2, device=self.seq.device)[: dim // 2].float() / dim
        return 1.0 / ((10000.0 * ntk_factor) ** exponents)

    def forward(self, t: int, h: int, w: int, fps: torch.Tensor | None = None) -> torch.Tensor:
        if t > self.max_t or h > self.max_h or w > self.max_w:
            raise ValueError(
                f"token grid {t}x{h}x{w} exceeds the positional tables {self.max_t}x{self.max_h}x{self.max_w}"
            )
        if fps is not None and t > 1 and fps.numel() > 1 and not bool((fps == fps.flatten()[0]).all()):
            raise ValueError("a video batch needs one fps for all samples (RoPE scales time by the first)")
        positions_t = self.seq[:t] if fps is None else self.seq[:t] / fps[:1].to(self.seq) * self.base_fps
        half_t = torch.outer(positions_t, self._frequencies(self.dim_t, self.t_ntk_factor))
        half_h = torch.outer(self.seq[:h], self._frequencies(self.dim_h, self.h_ntk_factor))
        half_w = torch.outer(self.seq[:w], self._frequencies(self.dim_w, self.w_ntk_factor))
        grid = (t, h, w)
        parts = [
            half_t[:, None, None, :].expand(*grid, -1),
            half_h[None, :, None, :].expand(*grid, -1),
            half_w[None, None, :, :].expand(*grid, -1),
        ]
        return torch.cat(parts * 2, dim=-1).reshape(t * h * w, -1).float()


def apply_rotary(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate ``x [B, L, heads, head_dim]`` by ``angles [L, head_dim]`` (rotate-half layout), in fp32."""
    cos = angles.cos()[None, :, None, :]
    sin = angles.sin()[None, :, None, :]
    x32 = x.float()
    first, second = x32.chunk(2, dim=-1)
    rotated = torch.cat([-second, first], dim=-1)
    return (x32 * cos + rotated * sin).to(x.dtype)


class LearnablePosEmbAxis(nn.Module):
    """Sum of learnable t / h / w tables cropped to the grid, RMS-normalised along channels.

    Added to the tokens at the start of every transformer block (``extra_per_block_abs_pos_emb``).
    """

    def __init__(self, *, model_channels: int, len_h: int, len_w: int, len_t: int) -> None:
        super().__init__()
        self.pos_emb_h = nn.Parameter(torch.empty(len_h, model_channels))
        self.pos_emb_w = nn.Parameter(torch.empty(len_w, model_channels))
        self.pos_emb_t = nn.Parameter(torch.empty(len_t, model_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # timm's trunc_normal_(std=0.02): cut at +-2 absolute, i.e. effectively untruncated.
        for table in (self.pos_emb_h, self.pos_emb_w, self.pos_emb_t):
            nn.init.trunc_normal_(table, std=0.02, a=-2.0, b=2.0)

    def forward(self, t: int, h: int, w: int) -> torch.Tensor:
        """``[1, T*H*W, D]``."""
        emb = self.pos_emb_t[:t, None, None] + self.pos_emb_h[None, :h, None] + self.pos_emb_w[None, None, :w]
        # The reference's normalize(dim=-1, eps=1e-6): x / (eps + ||x|| / sqrt(D)), the norm taken in fp32.
        norm = torch.linalg.vector_norm(emb, dim=-1, keepdim=True, dtype=torch.float32)
        norm = 1e-6 + norm / emb.shape[-1] ** 0.5
        return (emb / norm.to(emb.dtype)).reshape(1, t * h * w, -1)
