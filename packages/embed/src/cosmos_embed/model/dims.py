"""Layer dimensions of the two network scales, chosen by ``NetworkConfig.scale``.

``full`` is the released Cosmos-Embed1 (EVA-ViT-g/14 + a bert-base Q-Former); ``tiny`` has the same
structure with dimensions small enough to train on a CPU in seconds. Torch-free: the config validator
reads these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cosmos_embed.model.config import NetworkConfig


@dataclass(frozen=True)
class ViTDims:
    patch_size: int
    width: int
    depth: int
    num_heads: int
    mlp_dim: int
    layer_norm_eps: float = 1e-6
    init_std: float = 0.02


@dataclass(frozen=True)
class QFormerDims:
    hidden: int
    num_layers: int
    num_heads: int
    intermediate: int
    cross_attention_freq: int
    vocab_size: int
    max_position_embeddings: int
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    init_std: float = 0.02


# EVA-ViT-g/14 as BLIP-2 uses it: the 40th EVA block dropped, MLP int(1408 * 4.3637) = 6144 (embed1.md §3.2).
FULL_VIT = ViTDims(patch_size=14, width=1408, depth=39, num_heads=16, mlp_dim=6144)
# bert-base-uncased plus one added token ([DEC], id 30522) (embed1.md §2.1, §3.3).
FULL_QFORMER = QFormerDims(
    hidden=768,
    num_layers=12,
    num_heads=12,
    intermediate=3072,
    cross_attention_freq=2,
    vocab_size=30523,
    max_position_embeddings=512,
)

# The tiny scale trains from random weights: BERT's 0.02 init (tuned for width 768) leaves a 64-wide
# model's outputs almost independent of its inputs, and contrastive training then collapses to the
# uniform solution. 0.1 (about 0.02 * sqrt(768 / 64) rounded up) gives input-dependent outputs.
TINY_VIT = ViTDims(patch_size=8, width=64, depth=2, num_heads=4, mlp_dim=256, init_std=0.1)
# vocab_size = the 545 lines of cosmos_embed/assets/tiny_vocab.txt + [DEC]; a test keeps them in step.
TINY_QFORMER = QFormerDims(
    hidden=64,
    num_layers=2,
    num_heads=4,
    intermediate=256,
    cross_attention_freq=2,
    vocab_size=546,
    max_position_embeddings=64,
    init_std=0.1,
)

VIT_TYPE_FOR_SCALE = {"full": "eva_vit_g", "tiny": "eva_vit_tiny"}


def vit_dims(cfg: NetworkConfig) -> ViTDims:
    return FULL_VIT if cfg.scale == "full" else TINY_VIT


def qformer_dims(cfg: NetworkConfig) -> QFormerDims:
    return FULL_QFORMER if cfg.scale == "full" else TINY_QFORMER


def patch_grid(cfg: NetworkConfig) -> tuple[int, int]:
    """Patch grid (rows, columns) of the model at ``spatial_resolution``."""
    patch = vit_dims(cfg).patch_size
    height, width = cfg.spatial_resolution
    return height // patch, width // patch
