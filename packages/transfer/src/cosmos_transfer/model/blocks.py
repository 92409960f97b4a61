"""Transformer blocks of the DiT: AdaLN-gated FA / CA / MLP sub-blocks, the block that chains them, the
final layer.

Reference: ``diffusion/training/modules/blocks.py`` (``DITBuildingBlock``, ``GeneralDITTransformerBlock``,
``FinalLayer``) and ``attention.py::GPT2FeedForward``. Each sub-block computes
``x + gate * f(LayerNorm(x) * (1 + scale) + shift)`` with ``(shift, scale, gate)`` from its own low-rank
AdaLN head plus the shared ``adaln_lora`` timestep projection.
"""

from __future__ import annotations

import torch
from torch import nn

from cosmos_transfer.model.attention import VideoAttention

NORM_EPS = 1e-6


def adaln_modulation(model_channels: int, lora_dim: int, chunks: int) -> nn.Sequential:
    """SiLU → Linear(D, lora) → Linear(lora, chunks*D), no biases (keys ``adaLN_modulation.{1,2}.weight``)."""
    return nn.Sequential(
        nn.SiLU(),
        nn.Linear(model_channels, lora_dim, bias=False),
        nn.Linear(lora_dim, chunks * model_channels, bias=False),
    )


class FeedForward(nn.Module):
    """``layer2(GELU(layer1(x)))``, hidden ``mlp_ratio * D``, no biases."""

    def __init__(self, model_channels: int, hidden: int) -> None:
        super().__init__()
        self.layer1 = nn.Linear(model_channels, hidden, bias=False)
        self.activation = nn.GELU()
        self.layer2 = nn.Linear(hidden, model_channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer2(self.activation(self.layer1(x)))


class GatedSubBlock(nn.Module):
    """One AdaLN-gated residual sub-block; ``block`` is the wrapped attention or MLP."""

    def __init__(self, block: nn.Module, model_channels: int, lora_dim: int) -> None:
        super().__init__()
        self.block = block
        self.norm_state = nn.LayerNorm(model_channels, elementwise_affine=False, eps=NORM_EPS)
        self.adaLN_modulation = adaln_modulation(model_channels, lora_dim, 3)

    def modulated(
        self, x: torch.Tensor, emb: torch.Tensor, adaln_lora: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(normalised-and-modulated ``x``, gate ``[B, 1, D]``)."""
        shift, scale, gate = (self.adaLN_modulation(emb) + adaln_lora).chunk(3, dim=1)
        normed = self.norm_state(x) * (1 + scale[:, None]) + shift[:, None]
        return normed, gate[:, None]


class SelfAttentionSubBlock(GatedSubBlock):
    """FA: full self-attention over all tokens, with rotary positions."""

    def __init__(self, model_channels: int, heads: int, lora_dim: int) -> None:
        super().__init__(VideoAttention(model_channels, None, heads, model_channels // heads), model_channels, lora_dim)

    def forward(
        self, x: torch.Tensor, emb: torch.Tensor, adaln_lora: torch.Tensor, context: torch.Tensor, rope: torch.Tensor
    ) -> torch.Tensor:
        normed, gate = self.modulated(x, emb, adaln_lora)
        return x + gate * self.block(normed, rope_angles=rope)


class CrossAttentionSubBlock(GatedSubBlock):
    """CA: attention to the T5 context; the reference attends all 512 tokens (no cross-attention mask)."""

    def __init__(self, model_channels: int, context_dim: int, heads: int, lora_dim: int) -> None:
        head_dim = model_channels // heads
        super().__init__(VideoAttention(model_channels, context_dim, heads, head_dim), model_channels, lora_dim)

    def forward(
        self, x: torch.Tensor, emb: torch.Tensor, adaln_lora: torch.Tensor, context: torch.Tensor, rope: torch.Tensor
    ) -> torch.Tensor:
        normed, gate = self.modulated(x, emb, adaln_lora)
        return x + gate * self.block(normed, context=context)


class MLPSubBlock(GatedSubBlock):
    def __init__(self, model_channels: int, hidden: int, lora_dim: int) -> None:
        super().__init__(FeedForward(model_channels, hidden), model_channels, lora_dim)

    def forward(
        self, x: torch.Tensor, emb: torch.Tensor, adaln_lora: torch.Tensor, context: torch.Tensor, rope: torch.Tensor
    ) -> torch.Tensor:
        normed, gate = self.modulated(x, emb, adaln_lora)
        return x + gate * self.block(normed)


class TransformerBlock(nn.Module):
    """FA → CA → MLP (``blocks.0/1/2``), after adding the per-block learnable positional embedding."""

    def __init__(self, model_channels: int, context_dim: int, heads: int, mlp_ratio: float, lora_dim: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [
                SelfAttentionSubBlock(model_channels, heads, lora_dim),
                CrossAttentionSubBlock(model_channels, context_dim, heads, lora_dim),
                MLPSubBlock(model_channels, int(model_channels * mlp_ratio), lora_dim),
            ]
        )

    def forward(
        self,
        x: torch.Tensor,
        emb: torch.Tensor,
        adaln_lora: torch.Tensor,
        context: torch.Tensor,
        rope: torch.Tensor,
        extra_pos_emb: torch.Tensor,
    ) -> torch.Tensor:
        x = x + extra_pos_emb
        for sub_block in self.blocks:
            x = sub_block(x, emb, adaln_lora, context, rope)
        return x


class FinalLayer(nn.Module):
    """LayerNorm (no affine) + AdaLN shift/scale (the first ``2D`` of ``adaln_lora``) + Linear to patches."""

    def __init__(self, model_channels: int, patch_features: int, lora_dim: int) -> None:
        super().__init__()
        self.model_channels = model_channels
        self.norm_final = nn.LayerNorm(model_channels, elementwise_affine=False, eps=NORM_EPS)
        self.linear = nn.Linear(model_channels, patch_features, bias=False)
        self.adaLN_modulation = adaln_modulation(model_channels, lora_dim, 2)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, adaln_lora: torch.Tensor) -> torch.Tensor:
        shift, scale = (self.adaLN_modulation(emb) + adaln_lora[:, : 2 * self.model_channels]).chunk(2, dim=1)
        return self.linear(self.norm_final(x) * (1 + scale[:, None]) + shift[:, None])
