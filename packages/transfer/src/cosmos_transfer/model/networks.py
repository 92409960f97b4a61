"""Base + control networks of one Transfer1 experiment, laid out as the reference's training model.

``model_ctrl.py::build_model`` returns a ModuleDict ``{net: control branch, conditioner, logvar,
base_model: {net: base DiT, conditioner, logvar}}`` whose ``logvar`` is the base's own module. The same
layout here gives ``state_dict()`` keys ``net.*``, ``logvar.*``, ``base_model.net.*``,
``base_model.logvar.*`` — the ``"model"`` entry of the reference's ``iter_*_model_mp_*.pt`` files without
TransformerEngine ``_extra_state`` (the conditioners hold no tensors), and ``net-*`` EMA names (layout §4).
"""

from __future__ import annotations

import torch
from torch import nn

from cosmos_transfer.diffusion.logvar import LogVarHead
from cosmos_transfer.model.config import ControlDiTConfig, DiTConfig
from cosmos_transfer.model.control import ControlDiT, ControlWeight, copy_base_into_control
from cosmos_transfer.model.dit import VideoDiT


class TransferNetworks(nn.Module):
    def __init__(self, base_config: DiTConfig, control_config: ControlDiTConfig) -> None:
        super().__init__()
        self.net = ControlDiT(control_config)
        self.logvar = LogVarHead()
        self.base_model = nn.ModuleDict({"net": VideoDiT(base_config), "logvar": self.logvar})

    @property
    def base_net(self) -> VideoDiT:
        return self.base_model["net"]

    def freeze_base(self) -> None:
        """``finetune_base_model=False``: the base DiT and the shared logvar stop training."""
        self.base_model.requires_grad_(False)

    def initialize_control_from_base(self) -> list[str]:
        """Copy the base into the branch (pretrain start); returns the control-only keys left as initialised."""
        return copy_base_into_control(self.net, self.base_net)

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        crossattn_emb: torch.Tensor,
        hint: torch.Tensor | None,
        *,
        fps: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        condition_video_input_mask: torch.Tensor | None = None,
        control_weight: ControlWeight = 1.0,
    ) -> torch.Tensor:
        """The control branch's residuals fed into the base; ``hint=None`` runs the base alone (the
        reference's ``use_none_hint`` path)."""
        shared = {"fps": fps, "padding_mask": padding_mask, "condition_video_input_mask": condition_video_input_mask}
        residuals = None
        if hint is not None:
            residuals = self.net(x, timesteps, crossattn_emb, hint, control_weight=control_weight, **shared)
        return self.base_net(x, timesteps, crossattn_emb, control_residuals=residuals, **shared)
