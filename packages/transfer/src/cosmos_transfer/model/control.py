"""The control branch (reference ``GeneralDITEncoder``, ``diffusion/training/networks/general_dit_ctrl_enc.py``).

A ``VideoDiT`` with only blocks ``0..K-1`` (the experiments' ``layer_mask``; "block3" = K=3), plus:

- ``x_embedder2``: patch embed of the hint latent zero-padded to ``hint_channels`` + the padding mask;
- ``input_hint_block``: MLP D→16→16→32→32→96→96→256 (SiLU after each) and a zero-initialised Linear 256→D;
  its output is added to the tokens once, after control ``block0``;
- ``zero_blocks.block{i}``: zero-initialised Linear D→D after each control block; scaled by the control
  weight, these are the residuals the base adds after its own block ``i``.

Like the reference, the branch also carries an (unused) ``final_layer``; it is trainable and in the EMA.
"""

from __future__ import annotations

import torch
from torch import nn

from cosmos_transfer.model.config import ControlDiTConfig
from cosmos_transfer.model.dit import VideoDiT, resize_padding_mask
from cosmos_transfer.model.embeddings import PatchEmbed

HINT_MLP_WIDTHS = (16, 16, 32, 32, 96, 96, 256)

ControlWeight = float | torch.Tensor


def hint_mlp(model_channels: int) -> nn.Sequential:
    """Linear/SiLU pairs at indices 0..13, then the zero-initialised Linear at index 14 (keys ``.0 .. .14``)."""
    layers: list[nn.Module] = []
    width_in = model_channels
    for width in HINT_MLP_WIDTHS:
        layers += [nn.Linear(width_in, width), nn.SiLU()]
        width_in = width
    layers.append(nn.Linear(width_in, model_channels))
    return nn.Sequential(*layers)


def token_weight(control_weight: ControlWeight, batch: int, num_tokens: int) -> ControlWeight:
    """A scalar weight as is, or a weight map ``[B, 1, T', H', W']`` on the token grid as ``[B, L, 1]``."""
    if not isinstance(control_weight, torch.Tensor) or control_weight.ndim == 0:
        return control_weight
    if control_weight.ndim != 5 or control_weight.shape[1] != 1 or control_weight[0, 0].numel() != num_tokens:
        raise ValueError(
            f"a control weight map must be [B, 1, T', H', W'] on the {num_tokens}-token grid, "
            f"got {tuple(control_weight.shape)}"
        )
    return control_weight.reshape(control_weight.shape[0], num_tokens, 1).expand(batch, num_tokens, 1)


class ControlDiT(VideoDiT):
    config: ControlDiTConfig

    def build_extra_modules(self) -> None:
        config = self.config
        d = config.model_channels
        self.x_embedder2 = PatchEmbed(config.hint_channels + 1, d, config.patch_spatial, config.patch_temporal)
        self.input_hint_block = hint_mlp(d)
        self.zero_blocks = nn.ModuleDict({name: nn.Linear(d, d) for name in self.blocks})

    @torch.no_grad()
    def init_weights(self) -> None:
        """The base rules, then zero ``zero_blocks`` and the hint MLP's last Linear (weights and biases)."""
        super().init_weights()
        for linear in [*self.zero_blocks.values(), self.input_hint_block[-1]]:
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)

    def encode_hint(self, hint: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
        """Hint latent ``[B, C_h <= hint_channels, T, H, W]`` → guided hint tokens ``[B, L, D]``."""
        missing = self.config.hint_channels - hint.shape[1]
        if missing < 0:
            raise ValueError(f"hint has {hint.shape[1]} channels, more than hint_channels={self.config.hint_channels}")
        b, _, t, h, w = hint.shape
        hint = torch.cat([hint, hint.new_zeros(b, missing, t, h, w), resize_padding_mask(padding_mask, hint)], dim=1)
        patches = self.x_embedder2(hint)
        return self.input_hint_block(patches.reshape(b, -1, patches.shape[-1]))

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        crossattn_emb: torch.Tensor,
        hint: torch.Tensor,
        *,
        fps: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        condition_video_input_mask: torch.Tensor | None = None,
        control_weight: ControlWeight = 1.0,
    ) -> dict[str, torch.Tensor]:
        """Residuals ``{block name: [B, L, D]}`` for the base; same inputs as the base plus the hint latent.

        ``control_weight``: a float, a 0-d tensor, or a ``[B, 1, T', H', W']`` map on the token grid.
        """
        inputs = self.embed(self.network_input(x, condition_video_input_mask), timesteps, fps, padding_mask)
        guided_hint = self.encode_hint(hint, padding_mask)
        weight = token_weight(control_weight, inputs.tokens.shape[0], inputs.tokens.shape[1])
        tokens = inputs.tokens
        residuals = {}
        for index, (name, block) in enumerate(self.blocks.items()):
            tokens = self.run_block(block, tokens, inputs, crossattn_emb)
            if index == 0:
                tokens = tokens + guided_hint
            residuals[name] = self.zero_blocks[name](tokens) * weight
        return residuals


def copy_base_into_control(control: ControlDiT, base: VideoDiT) -> list[str]:
    """Initialise the branch from the base, as ``model_ctrl.py::build_model``'s non-strict copy does, and check
    that exactly the control-only modules were left out. Returns those keys (x_embedder2, input_hint_block,
    zero_blocks)."""
    base_state = base.state_dict()
    control_keys = set(control.state_dict())
    shared = {key: value for key, value in base_state.items() if key in control_keys}
    result = control.load_state_dict(shared, strict=False)
    control_only = list(result.missing_keys)
    expected_prefixes = ("x_embedder2.", "input_hint_block.", "zero_blocks.")
    unexpected_new = [key for key in control_only if not key.startswith(expected_prefixes)]
    if unexpected_new:
        raise ValueError(f"base and control branch disagree on shared modules; not copied: {unexpected_new}")
    return control_only


def sum_control_residuals(per_branch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Multi-control: each branch's (already weighted) residuals summed per block, as the reference's
    ``outs[name] += hint_val`` over ``hint_encoders``."""
    total: dict[str, torch.Tensor] = {}
    for residuals in per_branch:
        for name, value in residuals.items():
            total[name] = total[name] + value if name in total else value
    return total
