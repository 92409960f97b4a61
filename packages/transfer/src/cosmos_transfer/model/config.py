"""Network settings of the Cosmos-Transfer1 base DiT and its control branch, with the released presets.

Values are the resolved configs of transfer1_layout.md §1 (``faditv2_7b`` in
``diffusion/config/training/registry_extra.py`` overridden by ``experiment/ctrl_7b_tp_121frames.py``).
Settings every released network shares and that change no shape are fixed in the code rather than
offered here: FA-CA-MLP blocks, AdaLN-LoRA, RMS-normalised timestep embedding (``affline_emb_norm``),
QK RMSNorm ("RRI"), 3D RoPE plus the learnable per-axis embedding, and the concatenated padding-mask
channel.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DiTConfig:
    """The base DiT (reference ``VideoExtendGeneralDIT``)."""

    model_channels: int = 4096
    num_blocks: int = 28
    num_heads: int = 32
    mlp_ratio: float = 4.0
    crossattn_emb_channels: int = 1024  # T5-11B encoder width
    in_channels: int = 17  # 16 latent channels + the condition-frame mask (16 for nets without it)
    out_channels: int = 16
    patch_spatial: int = 2
    patch_temporal: int = 1
    max_img_h: int = 240  # latent units: the embedding tables hold max/patch positions
    max_img_w: int = 240
    max_frames: int = 128
    adaln_lora_dim: int = 256
    rope_h_extrapolation_ratio: float = 1.0
    rope_w_extrapolation_ratio: float = 1.0
    rope_t_extrapolation_ratio: float = 2.0  # the base's temporal NTK ratio (layout §1)
    base_fps: int = 24  # RoPE temporal positions are t * base_fps / fps

    def __post_init__(self) -> None:
        if self.model_channels % self.num_heads:
            raise ValueError(f"model_channels {self.model_channels} is not divisible by num_heads {self.num_heads}")
        if self.in_channels not in (self.out_channels, self.out_channels + 1):
            raise ValueError(
                f"in_channels must be out_channels ({self.out_channels}) or that plus the condition mask, "
                f"got {self.in_channels}"
            )

    @property
    def head_dim(self) -> int:
        return self.model_channels // self.num_heads

    @property
    def built_blocks(self) -> int:
        """How many transformer blocks the network instantiates."""
        return self.num_blocks


@dataclasses.dataclass(frozen=True)
class ControlDiTConfig(DiTConfig):
    """The control branch (reference ``GeneralDITEncoder``): blocks ``0..num_control_blocks-1`` of the base
    (the reference's ``layer_mask``), a hint embedder and zero-initialised projections."""

    # The experiment does not set it for net_ctrl, so the branch keeps the class default 1.0 (layout §1, §7.1).
    rope_t_extrapolation_ratio: float = 1.0
    num_control_blocks: int = 3  # "block3" in the experiment names
    hint_channels: int = 128  # room for 8 concatenated 16-channel hint latents

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.num_control_blocks <= self.num_blocks:
            raise ValueError(f"num_control_blocks must be in 1..{self.num_blocks}, got {self.num_control_blocks}")

    @property
    def built_blocks(self) -> int:
        return self.num_control_blocks


BASE_7B = DiTConfig()
CONTROL_7B = ControlDiTConfig()

# transfer1.md §1.7: the reference's tiny_fa nets (DebugDITConfigTrain: 256 wide, 4 blocks, 2 heads of 128,
# same patch and RoPE settings; DebugDITEncoderConfigTrain keeps blocks 0..2).
# inferred (transfer1.md §1.7): the tiny branch keeps the 7B experiment's hint_channels=128 (the debug encoder
# config sets none, so the class default 16 would apply there) so hints pad the same way at both sizes.
BASE_TINY = DiTConfig(model_channels=256, num_blocks=4, num_heads=2)
CONTROL_TINY = ControlDiTConfig(model_channels=256, num_blocks=4, num_heads=2, num_control_blocks=3)

PRESETS: dict[str, tuple[DiTConfig, ControlDiTConfig]] = {
    "7b": (BASE_7B, CONTROL_7B),
    "tiny": (BASE_TINY, CONTROL_TINY),
}


def preset(name: str) -> tuple[DiTConfig, ControlDiTConfig]:
    """(base, control) configs of a named preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown Transfer1 network preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
