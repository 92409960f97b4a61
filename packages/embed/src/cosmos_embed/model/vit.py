"""EVA-ViT (BLIP-2 layout): the per-frame visual encoder of Cosmos-Embed1.

Pre-norm blocks, LayerNorm eps 1e-6, GELU MLP, absolute learnable ``pos_embed`` + ``cls_token``, no
LayerScale, no relative position bias and no final norm (BLIP-2 applies ``ln_vision`` outside). Key
names follow LAVIS' ``eva_vit.py`` (embed1.md §3.2, §3.5).

Two load-time conversions run as ``load_state_dict`` pre-hooks, so every loading path gets them:

- ``pos_embed`` stored at another grid (released checkpoints keep the 224-px 16x16 grid for every
  resolution) is resampled bicubically to this model's grid; the cls position is kept as is.
- LAVIS' ``attn.q_bias`` / ``attn.v_bias`` (k bias fixed at zero) become the full ``attn.qkv.bias``.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from cosmos_embed.model.dims import ViTDims
from cosmos_embed.model.te_backend import make_linear


def resample_pos_embed(
    pos_embed: torch.Tensor, grid: tuple[int, int], stored_grid: tuple[int, int] | None = None
) -> torch.Tensor:
    """Bicubically resample ``pos_embed`` [1, 1 + h*w, D] (cls first) to ``grid`` (rows, columns).

    ``stored_grid`` defaults to the square grid implied by the token count.
    """
    num_patches = pos_embed.shape[1] - 1
    if stored_grid is None:
        side = math.isqrt(num_patches)
        if side * side != num_patches:
            raise ValueError(
                f"pos_embed has {num_patches} patch positions, not a square grid; pass its grid explicitly"
            )
        stored_grid = (side, side)
    if tuple(stored_grid) == tuple(grid):
        return pos_embed
    cls_pos, patch_pos = pos_embed[:, :1], pos_embed[:, 1:]
    dim = pos_embed.shape[-1]
    patch_pos = patch_pos.reshape(1, stored_grid[0], stored_grid[1], dim).permute(0, 3, 1, 2)
    patch_pos = F.interpolate(patch_pos.float(), size=tuple(grid), mode="bicubic", align_corners=False)
    patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], dim).to(pos_embed.dtype)
    return torch.cat([cls_pos, patch_pos], dim=1)


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, width: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(images).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection carrying a full [3*D] bias."""

    def __init__(self, dims: ViTDims, te: ModuleType | None, checkpoint_attention: bool) -> None:
        super().__init__()
        self.num_heads = dims.num_heads
        # inferred (embed1.md §3.2): a full [3*D] qkv bias (LAVIS has q_bias/v_bias only); it is what the
        # published totals fit and what a Transformer Engine layout would have.
        self.qkv = make_linear(te, dims.width, 3 * dims.width)
        self.proj = make_linear(te, dims.width, dims.width)
        self.checkpoint_attention = checkpoint_attention
        self.register_load_state_dict_pre_hook(_merge_q_v_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, width // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if self.checkpoint_attention and self.training and torch.is_grad_enabled():
            out = checkpoint(F.scaled_dot_product_attention, q, k, v, use_reentrant=False)
        else:
            out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


def _merge_q_v_bias(module: Attention, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    q_key, v_key, qkv_key = prefix + "q_bias", prefix + "v_bias", prefix + "qkv.bias"
    if q_key in state_dict and v_key in state_dict and qkv_key not in state_dict:
        q_bias, v_bias = state_dict.pop(q_key), state_dict.pop(v_key)
        state_dict[qkv_key] = torch.cat([q_bias, torch.zeros_like(q_bias), v_bias])


class Mlp(nn.Module):
    def __init__(self, dims: ViTDims, te: ModuleType | None) -> None:
        super().__init__()
        self.fc1 = make_linear(te, dims.width, dims.mlp_dim)
        self.act = nn.GELU()
        self.fc2 = make_linear(te, dims.mlp_dim, dims.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dims: ViTDims, te: ModuleType | None, checkpoint_attention: bool) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims.width, eps=dims.layer_norm_eps)
        self.attn = Attention(dims, te, checkpoint_attention)
        self.norm2 = nn.LayerNorm(dims.width, eps=dims.layer_norm_eps)
        self.mlp = Mlp(dims, te)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused_inference(x):
            return self._fused(x)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def fused_inference(self, x: torch.Tensor) -> bool:
        """Whether this forward can run as one native fused encoder-layer kernel.

        It is the op behind PyTorch's own ``nn.TransformerEncoderLayer`` in eval mode (native MHA with
        the qkv bias and scaling fused, ``addmm`` + GELU fused), so the ViT is at least as fast as that
        layer; the weights are the same tensors (``qkv`` is ``in_proj``). Used only where that layer
        itself would use it: no autograd, plain ``nn.Linear`` layers (not Transformer Engine or LoRA),
        not while ``torch.compile`` traces (inductor fuses the composed ops itself), and not under CUDA
        autocast. Training and every other case run the composed forward below it.
        """
        return (
            _FUSED_LAYER is not None
            and not self.training
            and not torch.is_grad_enabled()
            and x.dim() == 3
            and x.device.type in ("cpu", "cuda")
            and not torch.compiler.is_compiling()
            and not torch.is_autocast_enabled("cuda")
            and all(type(m) is nn.Linear for m in (self.attn.qkv, self.attn.proj, self.mlp.fc1, self.mlp.fc2))
            and self.norm1.eps == self.norm2.eps
        )

    def _fused(self, x: torch.Tensor) -> torch.Tensor:
        attn, mlp = self.attn, self.mlp
        return _FUSED_LAYER(
            x,
            x.shape[-1],
            attn.num_heads,
            attn.qkv.weight,
            attn.qkv.bias,
            attn.proj.weight,
            attn.proj.bias,
            True,  # GELU (exact, as nn.GELU())
            True,  # pre-norm
            self.norm1.eps,
            self.norm1.weight,
            self.norm1.bias,
            self.norm2.weight,
            self.norm2.bias,
            mlp.fc1.weight,
            mlp.fc1.bias,
            mlp.fc2.weight,
            mlp.fc2.bias,
            None,
            None,
        )


_FUSED_LAYER = getattr(torch, "_transformer_encoder_layer_fwd", None)
"""PyTorch's native encoder-layer kernel (what ``nn.TransformerEncoderLayer`` calls in eval), if present."""


class EvaViT(nn.Module):
    """Images [N, 3, H, W] (already normalised) -> tokens [N, 1 + (H/p)*(W/p), width], cls first."""

    def __init__(
        self,
        dims: ViTDims,
        grid: tuple[int, int],
        te: ModuleType | None = None,
        use_fp8: bool = False,
        checkpoint_activations: bool = False,
        checkpoint_attention: bool = False,
    ) -> None:
        super().__init__()
        self.dims = dims
        self.grid = grid
        self.patch_size = dims.patch_size
        self.patch_embed = PatchEmbed(dims.patch_size, dims.width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid[0] * grid[1], dims.width))
        self.blocks = nn.ModuleList(Block(dims, te, checkpoint_attention) for _ in range(dims.depth))
        self.checkpoint_activations = checkpoint_activations
        self._te = te
        self._use_fp8 = use_fp8 and te is not None
        self.register_load_state_dict_pre_hook(_resample_stored_pos_embed)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        expected = (self.grid[0] * self.patch_size, self.grid[1] * self.patch_size)
        if tuple(images.shape[-2:]) != expected:
            raise ValueError(
                f"frames are {tuple(images.shape[-2:])} pixels but the model is built for {expected} "
                "(model.network.spatial_resolution); resize frames before calling the model"
            )
        if self._use_fp8:
            with self._te.fp8_autocast(enabled=True):
                return self._encode(images)
        return self._encode(images)

    def _encode(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            if self.checkpoint_activations and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x


def _resample_stored_pos_embed(module: EvaViT, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    key = prefix + "pos_embed"
    stored = state_dict.get(key)
    if stored is not None and stored.shape != module.pos_embed.shape:
        state_dict[key] = resample_pos_embed(stored, module.grid)


def init_vit_weights(vit: EvaViT) -> None:
    nn.init.trunc_normal_(vit.pos_embed, std=vit.dims.init_std)
    nn.init.trunc_normal_(vit.cls_token, std=vit.dims.init_std)
    for module in vit.modules():
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif hasattr(module, "weight") and module.weight is not None and module.weight.dim() >= 2:
            nn.init.trunc_normal_(module.weight, std=vit.dims.init_std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
