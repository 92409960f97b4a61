"""Multi-head attention of the DiT in plain PyTorch (``scaled_dot_product_attention``).

Reference: ``diffusion/training/modules/attention.py::Attention`` with ``qkv_norm="RRI"`` and no biases.
Projections are plain ``nn.Linear`` at the released key paths (``to_q.0``, ``to_k.0``, ``to_v.0``,
``to_out.0``) so a DTensor column/row plan can target them by name; the head count is read from the
projected width at run time, so a column-sharded projection runs on its local heads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cosmos_transfer.model.position import apply_rotary

QK_NORM_EPS = 1e-6


class Attention(nn.Module):
    """Self-attention (``context_dim=None``, rotary on q and k) or cross-attention (no rotary).

    q and k get a per-head RMSNorm (``to_q.1`` / ``to_k.1``, weight ``[head_dim]``); v gets none.
    """

    def __init__(self, query_dim: int, context_dim: int | None, heads: int, head_dim: int) -> None:
        super().__init__()
        inner = heads * head_dim
        self.head_dim = head_dim
        self.is_self_attention = context_dim is None
        kv_dim = query_dim if context_dim is None else context_dim
        self.to_q = nn.Sequential(nn.Linear(query_dim, inner, bias=False), nn.RMSNorm(head_dim, eps=QK_NORM_EPS))
        self.to_k = nn.Sequential(nn.Linear(kv_dim, inner, bias=False), nn.RMSNorm(head_dim, eps=QK_NORM_EPS))
        self.to_v = nn.Sequential(nn.Linear(kv_dim, inner, bias=False))
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim, bias=False))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(*x.shape[:2], -1, self.head_dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, rope_angles: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``x [B, L, Dq]``, ``context [B, M, Dc]`` (cross-attention), ``rope_angles [L, head_dim]``."""
        source = x if context is None else context
        q = self.to_q[1](self._heads(self.to_q[0](x)))
        k = self.to_k[1](self._heads(self.to_k[0](source)))
        v = self._heads(self.to_v[0](source))
        if self.is_self_attention and rope_angles is not None:
            q = apply_rotary(q, rope_angles)
            k = apply_rotary(k, rope_angles)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.to_out[0](out.transpose(1, 2).reshape(*x.shape[:2], -1))


class VideoAttention(nn.Module):
    """Holds ``attn`` (key path ``block.attn.*``). The reference's ``VideoAttn`` reshapes video to tokens
    here; our tokens are already flat, so this level only keeps the released key paths."""

    def __init__(self, query_dim: int, context_dim: int | None, heads: int, head_dim: int) -> None:
        super().__init__()
        self.attn = Attention(query_dim, context_dim, heads, head_dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, rope_angles: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.attn(x, context, rope_angles)
