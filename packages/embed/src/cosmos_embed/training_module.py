"""The Cosmos-Embed1 training objective as the generic loop expects it: ``forward(batch) -> losses``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from cosmos_core.distributed import DistInfo, all_gather_with_grad, get_world_size, wrap_ddp
from torch import nn

from cosmos_embed.config import Embed1TrainConfig
from cosmos_embed.losses import captioning_loss, matching_loss
from cosmos_embed.model.config import NetworkConfig
from cosmos_embed.model.damp import DampNoise
from cosmos_embed.model.embed1 import CosmosEmbed1, TextEmbedderOutput, VideoEmbedderOutput
from cosmos_embed.model.lora import has_lora
from cosmos_embed.model.weight_transforms import transform_trainable_linears


class Embed1TrainingModule(nn.Module):
    """Contrastive (CLIP or SigLIP) + optional captioning + optional matching loss, each weighted.

    Contrastive features are gathered across ranks with gradients, so the loss is computed over the
    global batch. :meth:`parallelize` places it on the data-parallel ranks: FSDP2 with ``model.fsdp``
    (``fsdp=True``), else DDP. With LoRA adapters in the network, LoRA alone decides what trains (adapters plus
    ``modules_to_save``), so ``train.freeze_visual_encoder`` does not also freeze the ViT's adapters.
    With ``train.spectral_reparam`` / ``train.damp`` the trainable linears are swapped for
    :class:`~cosmos_embed.model.weight_transforms.TransformedLinear` (after the freezing above, which
    decides what "trainable" is). Checkpoints hold the network's own state dict (the released key
    layout, plus σReparam's ``*.spectral.*`` keys, which every reader folds away), not this wrapper's.
    """

    def __init__(
        self,
        network: CosmosEmbed1,
        train: Embed1TrainConfig,
        dec_token_id: int,
        pad_token_id: int,
        contrastive: Callable[..., torch.Tensor] | None,
        fsdp: bool = False,
    ):
        """``contrastive`` is the loss registered under ``model.network.contrastive_type``, called as
        ``contrastive(video_emb, text_emb, logit_scale, logit_bias, gather)`` (None only to count
        parameters, as ``summary`` does)."""
        super().__init__()
        self.fsdp = fsdp
        self.last_batch: dict[str, Any] | None = None
        """The videos and captions of the latest training forward (what the visualizer callbacks show)."""
        self.network = network
        self.contrastive = contrastive
        self.weights = train.loss_weights
        self.use_captioning = train.use_captioning_loss
        self.use_matching = train.use_text_matching_loss
        self.dec_token_id = dec_token_id
        self.pad_token_id = pad_token_id
        if train.freeze_visual_encoder and not has_lora(network):
            network.freeze_visual_encoder()
        self._freeze_unused_heads()
        self.damp_noise = DampNoise(train.damp.beta) if train.damp.enabled else None
        """DAMP's weight noise (its level follows train.damp.mode); None without train.damp."""
        self.transformed_linears = transform_trainable_linears(
            network, spectral=train.spectral_reparam, damp=self.damp_noise
        )
        """Names of the linears under σReparam and/or DAMP (the trainable ones, see weight_transforms)."""

    def _freeze_unused_heads(self) -> None:
        """Heads no enabled loss uses get no gradient: keep them out of the optimizer and out of DDP's
        gradient reduction (which otherwise waits forever for them). The LM decoder weight is tied to
        the word embeddings, which the text path uses, so it stays trainable."""
        net = self.network
        if not self.use_matching:
            net.itm_proj.requires_grad_(False)
        if not self.use_captioning:
            head = net.qformer.cls.predictions
            head.transform.requires_grad_(False)
            head.bias.requires_grad_(False)
            head.decoder.bias.requires_grad_(False)
        if net.config.contrastive_type == "clip":
            net.logit_bias.requires_grad_(False)

    def parallelize(self, dist: DistInfo) -> nn.Module:
        """FSDP2 on the mesh with ``model.fsdp`` (see :mod:`cosmos_embed.fsdp`), else DDP over the ranks."""
        if not self.fsdp or dist.mesh is None:
            return wrap_ddp(self, dist)
        from cosmos_embed.fsdp import shard_training_module

        shard_training_module(self, dist)
        return self

    @property
    def config(self) -> NetworkConfig:
        return self.network.config

    # The network's embedding paths, callable on the training module under FSDP (cosmos_embed.fsdp).

    def get_video_embeddings(self, videos: torch.Tensor) -> VideoEmbedderOutput:
        return self.network.get_video_embeddings(videos)

    def get_text_embeddings(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> TextEmbedderOutput:
        return self.network.get_text_embeddings(input_ids, attention_mask)

    def visual_tokens(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.network.visual_tokens(videos)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        net = self.network
        if self.training:
            self.last_batch = {"video": batch["video"], "caption": batch.get("caption", [])}
        out = net(batch["video"], batch["input_ids"], batch["attention_mask"])
        gather = all_gather_with_grad if get_world_size() > 1 else None
        losses = {
            "contrastive_loss": self.weights.contrastive_loss
            * self.contrastive(
                out.visual_proj,
                out.text_proj,
                net.logit_scale,
                net.logit_bias,
                gather,
            )
        }
        if self.use_captioning:
            losses["captioning_loss"] = self.weights.captioning_loss * captioning_loss(
                net,
                out.visual_query_output,
                batch["input_ids"],
                batch["attention_mask"],
                self.dec_token_id,
                self.pad_token_id,
            )
        if self.use_matching:
            losses["matching_loss"] = self.weights.matching_loss * matching_loss(
                net,
                out.visual_query_output,
                batch["input_ids"],
                batch["attention_mask"],
                out.visual_proj,
                out.text_proj,
                net.logit_scale,
            )
        return losses

    def train(self, mode: bool = True) -> Embed1TrainingModule:
        """Keep a frozen visual encoder in eval mode (no dropout / stochastic depth noise)."""
        super().train(mode)
        vit = self.network.visual_encoder
        if not any(p.requires_grad for p in vit.parameters()):
            vit.eval()
        return self

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.network.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.network.load_state_dict(state_dict, strict=strict, assign=assign)
