"""Named network presets: the three released checkpoints and a CPU-sized ``tiny`` one.

``preset(name)`` returns a ``NetworkConfig``; specs and tests start from these and override fields.
The released presets keep the seed's ``transformer_engine`` default; it falls back to PyTorch with one
warning where Transformer Engine is unavailable.
"""

from __future__ import annotations

from collections.abc import Callable

from cosmos_embed.model.config import NetworkConfig, VisualEncoderConfig


def _released(resolution: int, embed_dim: int) -> NetworkConfig:
    return NetworkConfig(embed_dim=embed_dim, spatial_resolution=[resolution, resolution])


def _tiny() -> NetworkConfig:
    return NetworkConfig(
        visual_encoder=VisualEncoderConfig(type="eva_vit_tiny", img_size=64, transformer_engine=False),
        embed_dim=32,
        num_query_tokens=4,
        max_txt_len=32,
        num_video_frames=8,
        spatial_resolution=[64, 64],
        scale="tiny",
    )


PRESETS: dict[str, Callable[[], NetworkConfig]] = {
    "224p": lambda: _released(224, 256),
    "336p": lambda: _released(336, 768),
    "448p": lambda: _released(448, 768),
    "tiny": _tiny,
}

# Parameter totals of the instantiated models (``count_parameters``): the released three are the
# published numbers (embed1.md §2.2, from mteb); tests assert all four.
PARAMETER_COUNTS = {
    "224p": 1_172_696_698,
    "336p": 1_173_934_714,
    "448p": 1_174_565_498,
    "tiny": 349_448,
}


def preset(name: str) -> NetworkConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown network preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
