"""The Cosmos-Transfer1 base DiT (reference ``VideoExtendGeneralDIT`` on ``GeneralDIT``, training variant).

Input: the preconditioned noisy latent ``c_in * x_t [B, 16, T, H, W]``, the condition-frame mask channel
(``condition_video_input_mask [B, 1, T, H, W]``), the pixel padding mask (resized to the latent grid and
concatenated), ``c_noise`` timesteps ``[B]``, the T5 context ``[B, M, 1024]`` and the batch's fps (RoPE
temporal scaling). Output: the F-prediction ``[B, 16, T, H, W]``.

Tokens are batch-first ``[B, T*H*W, D]`` (the reference runs sequence-first THWBD for its sequence-parallel
path; the arithmetic is the same). The control branch's per-block residuals (``control_residuals``) are
added right after the base block of the same name, as ``forward_blocks_regular`` does with ``x_ctrl``.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from cosmos_transfer.model.blocks import FinalLayer, TransformerBlock
from cosmos_transfer.model.config import DiTConfig
from cosmos_transfer.model.embeddings import PatchEmbed, SinusoidalTimesteps, TimestepAdaLNLoRA
from cosmos_transfer.model.position import LearnablePosEmbAxis, VideoRope3D

AFFINE_NORM_EPS = 1e-6


@dataclasses.dataclass
class EmbeddedInputs:
    """What every transformer block of a forward needs."""

    tokens: torch.Tensor  # [B, L, D]
    grid: tuple[int, int, int]  # token grid (T', H', W')
    rope: torch.Tensor  # [L, head_dim]
    extra_pos_emb: torch.Tensor  # [1, L, D]
    emb: torch.Tensor  # [B, D], the RMS-normalised timestep sinusoid
    adaln_lora: torch.Tensor  # [B, 3D]


def resize_padding_mask(padding_mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """``[B, 1, H_px, W_px]`` (1 = padded) resized nearest to ``like``'s ``H x W``, as ``[B, 1, T, H, W]``."""
    b, _, t, h, w = like.shape
    if padding_mask is None:
        return like.new_zeros(b, 1, t, h, w)
    mask = F.interpolate(padding_mask.float(), size=(h, w), mode="nearest")
    return mask.to(like.dtype)[:, :, None].expand(b, 1, t, h, w)


class VideoDiT(nn.Module):
    """FA-CA-MLP DiT with AdaLN-LoRA, QK RMSNorm, 3D RoPE and the learnable per-axis embedding."""

    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        self.config = config
        d = config.model_channels
        len_h = config.max_img_h // config.patch_spatial
        len_w = config.max_img_w // config.patch_spatial
        len_t = config.max_frames // config.patch_temporal
        # + 1 for the padding-mask channel every released net concatenates (concat_padding_mask=True).
        self.x_embedder = PatchEmbed(config.in_channels + 1, d, config.patch_spatial, config.patch_temporal)
        self.pos_embedder = VideoRope3D(
            head_dim=config.head_dim,
            len_h=len_h,
            len_w=len_w,
            len_t=len_t,
            base_fps=config.base_fps,
            h_extrapolation_ratio=config.rope_h_extrapolation_ratio,
            w_extrapolation_ratio=config.rope_w_extrapolation_ratio,
            t_extrapolation_ratio=config.rope_t_extrapolation_ratio,
        )
        self.extra_pos_embedder = LearnablePosEmbAxis(model_channels=d, len_h=len_h, len_w=len_w, len_t=len_t)
        self.t_embedder = nn.Sequential(SinusoidalTimesteps(d), TimestepAdaLNLoRA(d))
        self.blocks = nn.ModuleDict(
            {
                f"block{i}": TransformerBlock(
                    d, config.crossattn_emb_channels, config.num_heads, config.mlp_ratio, config.adaln_lora_dim
                )
                for i in range(config.built_blocks)
            }
        )
        patch_features = config.patch_spatial**2 * config.patch_temporal * config.out_channels
        self.final_layer = FinalLayer(d, patch_features, config.adaln_lora_dim)
        self.affline_norm = nn.RMSNorm(d, eps=AFFINE_NORM_EPS)  # the reference's (sic) name
        self.activation_checkpointing = False
        self.build_extra_modules()
        self.init_weights()

    def build_extra_modules(self) -> None:
        """Hook for subclasses to add modules before ``init_weights`` runs."""

    @torch.no_grad()
    def init_weights(self) -> None:
        """The reference's init (``general_dit.py::GeneralDIT.init_weights``), also usable after ``to_empty``.

        Every Linear xavier-uniform with zero bias; the timestep MLP N(0, 0.02); the last AdaLN Linear of
        every sub-block zero, so each residual branch starts at 0 — but not the final layer's, which keeps
        its xavier init (layout §7.2); RMSNorm weights one; axis tables trunc-normal 0.02.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.RMSNorm):
                nn.init.ones_(module.weight)
        timestep_mlp = self.t_embedder[1]
        nn.init.normal_(timestep_mlp.linear_1.weight, std=0.02)
        nn.init.normal_(timestep_mlp.linear_2.weight, std=0.02)
        for block in self.blocks.values():
            for sub_block in block.blocks:
                nn.init.zeros_(sub_block.adaLN_modulation[-1].weight)
        self.extra_pos_embedder.reset_parameters()
        self.pos_embedder.reset_buffers()

    def network_input(self, x: torch.Tensor, condition_video_input_mask: torch.Tensor | None) -> torch.Tensor:
        """``x`` with the condition-mask channel appended, checked against ``in_channels``."""
        if condition_video_input_mask is not None:
            x = torch.cat([x, condition_video_input_mask.to(x.dtype)], dim=1)
        if x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"the network takes {self.config.in_channels} input channels (latent + condition mask), "
                f"got {x.shape[1]}"
            )
        return x

    def embed(
        self, x: torch.Tensor, timesteps: torch.Tensor, fps: torch.Tensor | None, padding_mask: torch.Tensor | None
    ) -> EmbeddedInputs:
        """Tokens, positions and timestep embeddings of a network input ``[B, in_channels, T, H, W]``."""
        x = torch.cat([x, resize_padding_mask(padding_mask, x)], dim=1)
        patches = self.x_embedder(x)
        b, t, h, w, d = patches.shape
        sinusoid, adaln_lora = self.t_embedder(timesteps.flatten())
        return EmbeddedInputs(
            tokens=patches.reshape(b, t * h * w, d),
            grid=(t, h, w),
            rope=self.pos_embedder(t, h, w, fps),
            extra_pos_emb=self.extra_pos_embedder(t, h, w),
            emb=self.affline_norm(sinusoid),
            adaln_lora=adaln_lora,
        )

    def run_block(
        self, block: nn.Module, x: torch.Tensor, inputs: EmbeddedInputs, context: torch.Tensor
    ) -> torch.Tensor:
        args = (x, inputs.emb, inputs.adaln_lora, context, inputs.rope, inputs.extra_pos_emb)
        if self.activation_checkpointing and torch.is_grad_enabled():
            return checkpoint(block, *args, use_reentrant=False)
        return block(*args)

    def unpatchify(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """``[B, L, p1*p2*t*C]`` → ``[B, C, T, H, W]``, features ordered ``(p1 p2 t C)`` as the reference."""
        t, h, w = grid
        p, r, c = self.config.patch_spatial, self.config.patch_temporal, self.config.out_channels
        x = x.reshape(x.shape[0], t, h, w, p, p, r, c)
        x = x.permute(0, 7, 1, 6, 2, 4, 3, 5)
        return x.reshape(x.shape[0], c, t * r, h * p, w * p)

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        crossattn_emb: torch.Tensor,
        *,
        fps: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        condition_video_input_mask: torch.Tensor | None = None,
        control_residuals: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """F-prediction for ``x [B, 16, T, H, W]``; ``padding_mask`` None means nothing padded.

        ``control_residuals`` maps block names (``block0``…) to ``[B, L, D]`` tensors added after that block.
        """
        inputs = self.embed(self.network_input(x, condition_video_input_mask), timesteps, fps, padding_mask)
        tokens = inputs.tokens
        for name, block in self.blocks.items():
            tokens = self.run_block(block, tokens, inputs, crossattn_emb)
            if control_residuals is not None and name in control_residuals:
                tokens = tokens + control_residuals[name]
        return self.unpatchify(self.final_layer(tokens, inputs.emb, inputs.adaln_lora), inputs.grid)
