"""``CosmosEmbed1``: the Cosmos-Embed1 video-text embedder in plain PyTorch.

Video path: frames [B, T, 3, H, W] -> normalise (inside the model) -> EVA-ViT per frame -> ``ln_vision``
-> ``temporal_encoding`` -> all frames' tokens as the Q-Former's cross-attention memory -> the
``query_tokens`` through the Q-Former -> ``query_pooling`` -> ``vision_proj`` -> L2 normalise.
Text path: the same Q-Former in text-only mode -> [CLS] state -> ``text_proj`` -> L2 normalise.

State-dict keys follow the released checkpoints (embed1.md §3.5); the Q-Former lives under
``QFORMER_PREFIX``. Construction works under ``with torch.device("meta")`` (no tensor reads at build).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cosmos_embed.model.config import NetworkConfig, validate_network_config
from cosmos_embed.model.dims import patch_grid, qformer_dims, vit_dims
from cosmos_embed.model.pooling import QueryPooling
from cosmos_embed.model.qformer import QFormer, init_qformer_weights
from cosmos_embed.model.te_backend import load_transformer_engine
from cosmos_embed.model.temporal import TemporalEncoding
from cosmos_embed.model.vit import EvaViT, init_vit_weights

# inferred (embed1.md §3.5): LAVIS calls the module ``Qformer``; the released key prefix was not visible.
# The attribute below is ``self.qformer``; change both together.
QFORMER_PREFIX = "qformer."

# The model normalises pixels itself with these (non-persistent buffers, absent from checkpoints).
# Uncertain (embed1.md §3.1): a third party reading the released code calls them ImageNet constants,
# used here; EVA-CLIP / BLIP-2 preprocessing uses the CLIP constants
# (0.48145466, 0.4578275, 0.40821073) / (0.26862954, 0.26130258, 0.27577711) instead.
NORMALIZATION_MEAN = (0.485, 0.456, 0.406)
NORMALIZATION_STD = (0.229, 0.224, 0.225)

# Initial (log) logit scale and logit bias per contrastive type (embed1.md §5): CLIP ln(1/0.07) and 0;
# SigLIP ln(10) and -10.
INITIAL_LOGIT_SCALE = {"clip": math.log(1 / 0.07), "siglip": math.log(10.0)}
INITIAL_LOGIT_BIAS = {"clip": 0.0, "siglip": -10.0}


@dataclass
class VideoEmbedderOutput:
    visual_proj: torch.Tensor  # [B, E] (or [B, Q, E] with identity pooling), L2-normalised
    visual_cls_tokens: torch.Tensor  # pooled Q-Former output before projection, [B, H] (or [B, Q, H])
    visual_query_output: torch.Tensor  # all query outputs [B, Q, H], for the captioning / matching losses


@dataclass
class TextEmbedderOutput:
    text_proj: torch.Tensor  # [B, E], L2-normalised
    text_embs: torch.Tensor  # Q-Former text hidden states [B, L, H]


@dataclass
class TextVideoEmbedderOutput:
    visual_proj: torch.Tensor
    visual_cls_tokens: torch.Tensor
    visual_query_output: torch.Tensor
    text_proj: torch.Tensor
    text_embs: torch.Tensor


class CosmosEmbed1(nn.Module):
    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        problems = validate_network_config(cfg)
        if problems:
            raise ValueError("invalid network config:\n  - " + "\n  - ".join(problems))
        self.config = cfg
        vit, qf = vit_dims(cfg), qformer_dims(cfg)
        encoder = cfg.visual_encoder
        self.visual_encoder = EvaViT(
            vit,
            patch_grid(cfg),
            te=load_transformer_engine(encoder.transformer_engine),
            use_fp8=encoder.use_fp8,
            checkpoint_activations=encoder.checkpoint_activations,
            checkpoint_attention=encoder.checkpoint_attention,
        )
        self.ln_vision = nn.LayerNorm(vit.width)
        self.temporal_encoding = TemporalEncoding(cfg.temporal_encoding_type, cfg.num_video_frames, vit.width)
        self.qformer = QFormer(qf, encoder_width=vit.width)
        self.query_tokens = nn.Parameter(torch.zeros(1, cfg.num_query_tokens, qf.hidden))
        self.query_pooling = QueryPooling(cfg.query_pooling_type, qf.hidden)
        self.vision_proj = nn.Linear(qf.hidden, cfg.embed_dim)
        self.text_proj = nn.Linear(qf.hidden, cfg.embed_dim)
        # inferred (embed1.md §3.4): BLIP-2's ITM head, used by the matching loss. Named ``itm_proj`` after
        # the seed's default LoRA target list (the TAO contract names modules of the real model, next to
        # vision_proj/text_proj); BLIP-2 calls it ``itm_head``, which embed1.md §3.5 only guesses.
        self.itm_proj = nn.Linear(qf.hidden, 2)
        # Scalars seen in the released model's graph (embed1.md §3.1); logit_bias is used by SigLIP only.
        self.logit_scale = nn.Parameter(torch.full((), INITIAL_LOGIT_SCALE[cfg.contrastive_type]))
        self.logit_bias = nn.Parameter(torch.full((), INITIAL_LOGIT_BIAS[cfg.contrastive_type]))
        self.register_buffer("normalization_mean", torch.empty(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("normalization_std", torch.empty(1, 1, 3, 1, 1), persistent=False)
        self.register_load_state_dict_post_hook(_after_load)
        self.init_weights()

    def init_weights(self) -> None:
        """Random initialisation (ViT: trunc-normal; Q-Former and heads: BERT's normal; std 0.02 at full scale).

        Writes every parameter and buffer, so it also fills a network built on the meta device after
        ``to_empty`` (whose memory is garbage): the temporal encoding starts at zero and the logit scalars
        at their contrastive type's initial values, as at construction.
        """
        init_vit_weights(self.visual_encoder)
        init_qformer_weights(self.qformer)
        nn.init.ones_(self.ln_vision.weight)
        nn.init.zeros_(self.ln_vision.bias)
        nn.init.zeros_(self.temporal_encoding.weight)
        std = qformer_dims(self.config).init_std
        nn.init.normal_(self.query_tokens, std=std)
        for linear in (self.vision_proj, self.text_proj, self.itm_proj):
            nn.init.normal_(linear.weight, std=std)
            nn.init.zeros_(linear.bias)
        contrastive = self.config.contrastive_type
        nn.init.constant_(self.logit_scale, INITIAL_LOGIT_SCALE[contrastive])
        nn.init.constant_(self.logit_bias, INITIAL_LOGIT_BIAS[contrastive])
        self.fill_normalization_buffers()

    def fill_normalization_buffers(self) -> None:
        """(Re)write the pixel mean/std buffers, e.g. after ``to_empty`` (loading does it itself)."""
        with torch.no_grad():
            mean = torch.tensor(NORMALIZATION_MEAN, device=self.normalization_mean.device)
            std = torch.tensor(NORMALIZATION_STD, device=self.normalization_std.device)
            self.normalization_mean.copy_(mean.view(1, 1, 3, 1, 1))
            self.normalization_std.copy_(std.view(1, 1, 3, 1, 1))

    def freeze_visual_encoder(self) -> None:
        """Stop training the ViT (``train.freeze_visual_encoder``); ``ln_vision`` stays trainable (BLIP-2)."""
        self.visual_encoder.requires_grad_(False)

    # ---- video -------------------------------------------------------------------------------------

    def get_video_embeddings(self, videos: torch.Tensor) -> VideoEmbedderOutput:
        """``videos`` [B, T, 3, H, W]: uint8 in 0..255 or float in [0, 1], H x W = spatial_resolution."""
        tokens, frame_index = self.visual_tokens(videos)
        batch = tokens.shape[0]
        tokens = self.ln_vision(tokens)
        tokens = self.temporal_encoding(tokens, frame_index).flatten(1, 2)
        queries = self.qformer.bert(query_embeds=self.query_tokens.expand(batch, -1, -1), encoder_hidden_states=tokens)
        pooled = self.query_pooling(queries)
        return VideoEmbedderOutput(
            visual_proj=F.normalize(self.vision_proj(pooled), dim=-1),
            visual_cls_tokens=pooled,
            visual_query_output=queries,
        )

    def visual_tokens(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The EVA-ViT tokens of every frame [B, T', 1 + N, width] (cls first, before ``ln_vision``) and the
        positions of the T' encoded frames (None: all of them, see ``num_heldout_frames``)."""
        if videos.dim() != 5 or videos.shape[2] != 3:
            raise ValueError(f"videos must be [B, T, 3, H, W], got shape {tuple(videos.shape)}")
        frames, frame_index = self._select_frames(videos)
        pixels = frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()
        pixels = (pixels - self.normalization_mean) / self.normalization_std
        batch, num_frames = pixels.shape[:2]
        dtype = self.visual_encoder.patch_embed.proj.weight.dtype
        tokens = self.visual_encoder(pixels.flatten(0, 1).to(dtype))
        return tokens.unflatten(0, (batch, num_frames)), frame_index

    def _select_frames(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """In training, leave out ``num_heldout_frames`` random frames (the same ones for the whole batch)."""
        heldout = self.config.num_heldout_frames
        if not (self.training and heldout) or videos.shape[1] <= heldout:
            return videos, None
        keep = videos.shape[1] - heldout
        frame_index = torch.randperm(videos.shape[1], device=videos.device)[:keep].sort().values
        return videos[:, frame_index], frame_index

    # ---- text --------------------------------------------------------------------------------------

    def get_text_embeddings(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> TextEmbedderOutput:
        hidden = self.qformer.bert(input_ids=input_ids, attention_mask=attention_mask)
        return TextEmbedderOutput(text_proj=F.normalize(self.text_proj(hidden[:, 0]), dim=-1), text_embs=hidden)

    # ---- both --------------------------------------------------------------------------------------

    def forward(
        self, videos: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> TextVideoEmbedderOutput:
        video = self.get_video_embeddings(videos)
        text = self.get_text_embeddings(input_ids, attention_mask)
        return TextVideoEmbedderOutput(
            visual_proj=video.visual_proj,
            visual_cls_tokens=video.visual_cls_tokens,
            visual_query_output=video.visual_query_output,
            text_proj=text.text_proj,
            text_embs=text.text_embs,
        )

    # ---- heads used by the matching and captioning losses -------------------------------------------

    def itm_logits(
        self, visual_query_output: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Match / no-match logits [N, 2] of video-text pairs (BLIP-2 ITM, averaged over the queries).

        Unlike BLIP-2, which re-runs the queries with cross-attention to the image, the final query
        outputs enter as a prefix that attends jointly with the text, so only ``visual_query_output``
        is needed.
        """
        hidden = self.qformer.bert(input_ids, attention_mask, query_embeds=visual_query_output)
        return self.itm_proj(hidden[:, : visual_query_output.shape[1]]).mean(dim=1)

    def caption_logits(
        self, visual_query_output: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Next-token logits [N, T, V] for the text, conditioned causally on the query prefix (BLIP-2 ITG)."""
        hidden = self.qformer.bert(input_ids, attention_mask, query_embeds=visual_query_output, causal=True)
        return self.qformer.lm_logits(hidden[:, visual_query_output.shape[1] :])


def _after_load(module: CosmosEmbed1, incompatible_keys: Any) -> None:
    # Non-persistent buffers are not in checkpoints: refill them (a meta-built model gets garbage from
    # ``to_empty``). The Q-Former re-ties its LM decoder itself.
    module.fill_normalization_buffers()
