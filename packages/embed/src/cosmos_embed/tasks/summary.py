"""``cosmos-run cosmos-embed1 summary``: parameter counts of the configured network, no weights allocated."""

from __future__ import annotations

from cosmos_core.run import RunContext
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.model.params import count_parameters


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    network = config.model.network
    total, trainable = count_parameters(network, freeze_visual_encoder=config.train.freeze_visual_encoder)
    height, width = network.spatial_resolution
    print(
        f"Cosmos-Embed1 ({network.scale} scale, {height}x{width}, {network.num_video_frames} frames, "
        f"embed_dim {network.embed_dim})"
    )
    print(f"total parameters:     {total:,}")
    print(
        f"trainable parameters: {trainable:,} (train.freeze_visual_encoder={config.train.freeze_visual_encoder})"
    )
    return 0
