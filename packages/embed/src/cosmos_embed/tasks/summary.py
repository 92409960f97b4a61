"""``cosmos-run cosmos-embed1 summary``: parameter counts of the configured network, no weights allocated."""

from __future__ import annotations

from cosmos_core.run import RunContext
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.model.params import count_parameters


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    network, lora = config.model.network, config.model.lora
    freeze = config.train.freeze_visual_encoder
    total, trainable = count_parameters(network, freeze_visual_encoder=freeze, lora=lora)
    height, width = network.spatial_resolution
    print(
        f"Cosmos-Embed1 ({network.scale} scale, {height}x{width}, {network.num_video_frames} frames, "
        f"embed_dim {network.embed_dim})"
    )
    print(f"total parameters:     {total:,}")
    if lora.enabled:
        why = f"LoRA rank {lora.lora_rank} adapters + modules_to_save"
    else:
        why = f"train.freeze_visual_encoder={freeze}"
    print(f"trainable parameters: {trainable:,} ({why})")
    return 0
