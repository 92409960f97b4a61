"""``cosmos-run cosmos-embed1 summary``: parameter counts of the configured network, no weights allocated."""

from __future__ import annotations

import torch
from cosmos_core.run import RunContext
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.lora import apply_lora
from cosmos_embed.training_module import Embed1TrainingModule


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    """Counts on the meta device, with the trainable part decided exactly as ``train`` decides it
    (frozen visual encoder, LoRA adapters, heads no enabled loss uses)."""
    network_cfg, lora = config.model.network, config.model.lora
    with torch.device("meta"):
        network = CosmosEmbed1(network_cfg)
        if lora.enabled:
            apply_lora(network, lora)
    module = Embed1TrainingModule(network, config.train, dec_token_id=0, pad_token_id=0, contrastive=None)
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    height, width = network_cfg.spatial_resolution
    print(
        f"Cosmos-Embed1 ({network_cfg.scale} scale, {height}x{width}, {network_cfg.num_video_frames} frames, "
        f"embed_dim {network_cfg.embed_dim})"
    )
    print(f"total parameters:     {total:,}")
    if lora.enabled:
        why = f"LoRA rank {lora.lora_rank} adapters + modules_to_save"
    else:
        why = f"train.freeze_visual_encoder={config.train.freeze_visual_encoder}"
    print(f"trainable parameters: {trainable:,} ({why}; heads of disabled losses frozen)")
    return 0
