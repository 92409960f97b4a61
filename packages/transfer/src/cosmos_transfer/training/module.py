"""The Cosmos-Transfer1 training objective as the core's loop expects it: ``forward(batch) -> {"loss": ...}``.

Per batch, as the reference's ``training_step`` (``model_ctrl.py``, ``extend_model.py``):

1. the video and the control frames (uint8 ``[B, 3, T, H, W]``) go to [-1, 1] and through the frozen
   tokenizer; latents are multiplied by ``sigma_data``;
2. each sample's T5 embedding is dropped with probability ``text_dropout_rate`` (for guidance);
3. ``first_random_n`` conditioning frames (0 .. t_max) are drawn for the batch, sigma and the noise are
   drawn, and the EDM denoising loss with the learned log-variance is the objective.

The module's state dict is the networks' (``net.*``, ``logvar.*``, ``base_model.*``: the ``"model"`` entry
of the reference's checkpoint files); the tokenizer is kept outside the module tree, so it is neither
saved, nor trained, nor sharded. Randomness comes from the global generators, which the loop seeds per
data-parallel rank, so the ranks of one tensor-parallel group draw the same noise.
"""

from __future__ import annotations

from typing import Any

import torch
from cosmos_core.distributed import DistInfo, wrap_ddp
from torch import nn

from cosmos_transfer.diffusion.condition_dropout import drop_text_embeddings, select_hint_conditions
from cosmos_transfer.diffusion.denoise import denoising_loss
from cosmos_transfer.diffusion.hint import encode_hint
from cosmos_transfer.diffusion.video_conditioning import sample_num_condition_frames
from cosmos_transfer.model.networks import TransferNetworks
from cosmos_transfer.tokenizer.interface import VideoTokenizer, uint8_to_unit_range


class TransferTrainingModule(nn.Module):
    def __init__(
        self,
        networks: TransferNetworks,
        *,
        hint_key: str,
        sigma_data: float,
        loss_add_logvar: bool,
        max_condition_frames: int,
        text_dropout_rate: float,
        hint_dropout_rate: float,
        materialise: Any = None,
        parallel_options: dict[str, Any] | None = None,
    ) -> None:
        """``materialise(module)`` fills the networks after they were built on the meta device (random
        init and the experiment's weights); the loop calls it through :meth:`init_weights`.
        ``parallel_options`` go to :func:`cosmos_transfer.parallel.parallelize.parallelize_networks`
        (sequence parallelism, FSDP, activation checkpointing)."""
        super().__init__()
        self.networks = networks
        self.hint_key = hint_key
        self.sigma_data = sigma_data
        self.loss_add_logvar = loss_add_logvar
        self.max_condition_frames = max_condition_frames
        self.text_dropout_rate = text_dropout_rate
        self.hint_dropout_rate = hint_dropout_rate
        self._materialise = materialise
        self.parallel_options = dict(parallel_options or {})
        self._tokenizer: list[VideoTokenizer] = []

    def attach_tokenizer(self, tokenizer: VideoTokenizer) -> None:
        self._tokenizer[:] = [tokenizer]

    @property
    def tokenizer(self) -> VideoTokenizer:
        if not self._tokenizer:
            raise RuntimeError("attach_tokenizer() first")
        return self._tokenizer[0]

    # -- what the loop asks of a module -------------------------------------------------------------

    def init_weights(self) -> None:
        if self._materialise is None:
            raise TypeError("this training module was not given a materialise function")
        self._materialise(self)

    def parallelize(self, dist: DistInfo) -> nn.Module:
        """Tensor + sequence parallelism and FSDP on the device mesh when the layout asks for them, else DDP
        over the data-parallel ranks."""
        from cosmos_transfer.parallel.parallelize import parallelize_networks, prepare_networks

        options = self.parallel_options
        if dist.tp_size > 1 or dist.dims.dp_shard > 1 or options.get("fsdp"):
            parallelize_networks(self.networks, dist, **options)
            return self
        prepare_networks(
            self.networks,
            activation_checkpointing=bool(options.get("activation_checkpointing")),
            frozen_base_dtype=options.get("frozen_base_dtype"),
            network_dtype=options.get("network_dtype"),
        )
        # The control branch's final layer is trainable but unused by its forward (as in the reference).
        return wrap_ddp(self, dist, find_unused_parameters=True)

    def optimizer_param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """One group of every trainable parameter, all decayed (``optim_instantiate.py``)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "weight_decay": weight_decay}]

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.networks.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.networks.load_state_dict(state_dict, strict=strict, assign=assign)

    def train(self, mode: bool = True) -> TransferTrainingModule:
        """A frozen base stays in eval mode."""
        super().train(mode)
        if not any(p.requires_grad for p in self.networks.base_model.parameters()):
            self.networks.base_model.eval()
        return self

    # -- the objective -------------------------------------------------------------------------------

    @torch.no_grad()
    def encode(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Clean latent ``x0`` and hint latent of a batch (tokenizer, ``* sigma_data``)."""
        tokenizer = self.tokenizer
        video = uint8_to_unit_range(batch["video"])
        control = uint8_to_unit_range(batch[self.hint_key])
        keep = select_hint_conditions(control.shape[1] // 3, training=self.training, rate=self.hint_dropout_rate)
        x0 = tokenizer.encode(video).float() * self.sigma_data
        hint = encode_hint(lambda x: tokenizer.encode(x).float(), control, keep, sigma_data=self.sigma_data)
        return x0, hint

    @property
    def network_dtype(self) -> torch.dtype:
        """What the networks hold their weights in: bf16 when the whole network trains in bf16 (fp32 master
        weights in the optimizer), else fp32 (bf16 autocast, where on, decides each op)."""
        return next(self.networks.net.parameters()).dtype

    def network_fn(self, batch: dict[str, Any], text: torch.Tensor, hint: torch.Tensor, control_weight: float = 1.0):
        """``(c_in x, c_noise, condition mask) -> F`` of these networks for this batch. Inputs go in the
        networks' dtype and F comes back in fp32, so the diffusion arithmetic stays fp32 either way."""
        dtype = self.network_dtype
        fps = batch["fps"].to(dtype)
        padding_mask = batch["padding_mask"].to(dtype)
        text, hint = text.to(dtype), None if hint is None else hint.to(dtype)
        takes_mask = self.networks.base_net.config.in_channels > self.networks.base_net.config.out_channels

        def network(x: torch.Tensor, c_noise: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
            return self.networks(
                x.to(dtype),
                c_noise.to(dtype),
                text,
                hint,
                fps=fps,
                padding_mask=padding_mask,
                condition_video_input_mask=mask.to(dtype) if takes_mask and mask is not None else None,
                control_weight=control_weight,
            ).float()

        return network

    def logvar(self, c_noise: torch.Tensor) -> torch.Tensor:
        """The learned log-variance of the loss at ``c_noise``, in fp32."""
        return self.networks.logvar(c_noise.to(self.network_dtype)).float()

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x0, hint = self.encode(batch)
        text = batch["t5_text_embeddings"].float()
        if self.training:
            text = drop_text_embeddings(text, self.text_dropout_rate)
        frames = sample_num_condition_frames(max_frames=min(self.max_condition_frames, x0.shape[2]))
        terms = denoising_loss(
            self.network_fn(batch, text, hint),
            x0,
            logvar_head=self.logvar if self.loss_add_logvar else None,
            num_condition_frames=frames,
            sigma_data=self.sigma_data,
        )
        return {"loss": terms.loss}
