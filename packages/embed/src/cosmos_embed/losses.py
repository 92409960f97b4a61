"""Training losses of Cosmos-Embed1: contrastive (CLIP or SigLIP), captioning (ITG) and matching (ITM).

Conventions (embed1.md §5):

- Embeddings are L2-normalised. ``logit_scale`` is the *log* of the temperature inverse: logits are
  ``exp(logit_scale) * similarity`` (+ ``logit_bias`` for SigLIP). ``LOGIT_SCALE_MAX`` is the ceiling
  the ``clamp_logit_scale`` callback applies (CLIP's ln 100).
- With identity query pooling a video embedding is [Q, E]; the similarity of a pair is then its best
  query (BLIP-2's max over queries).
- Distributed: ``gather`` is an all-gather *with gradient* whose backward sums the incoming gradients
  over ranks (``torch.distributed.nn.functional.all_gather`` semantics), concatenating in rank order.
  Every rank then computes the loss over the full gathered batch, so the loss value equals the
  single-process loss on the full batch, and since each rank's features receive the gradient of that
  same loss from all W ranks, DDP's average over ranks equals the single-process gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Gather = Callable[[torch.Tensor], torch.Tensor]

LOGIT_SCALE_MAX = math.log(100.0)
LABEL_SMOOTHING = 0.1
IGNORE_INDEX = -100


def similarity(video_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """Cosine similarities [Nv, Nt] of normalised embeddings; [Nv, Q, E] videos take the best query."""
    if video_emb.dim() == 3:
        return torch.einsum("vqe,te->vqt", video_emb, text_emb).amax(dim=1)
    return video_emb @ text_emb.t()


def _gathered(video_emb: torch.Tensor, text_emb: torch.Tensor, gather: Gather | None):
    if gather is None:
        return video_emb, text_emb
    return gather(video_emb), gather(text_emb)


def clip_loss(
    video_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor, gather: Gather | None = None
) -> torch.Tensor:
    """Symmetric InfoNCE: mean of the video->text and text->video cross-entropies, pairs on the diagonal."""
    video_emb, text_emb = _gathered(video_emb, text_emb, gather)
    logits = logit_scale.exp() * similarity(video_emb, text_emb)
    targets = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2


def siglip_loss(
    video_emb: torch.Tensor,
    text_emb: torch.Tensor,
    logit_scale: torch.Tensor,
    logit_bias: torch.Tensor,
    gather: Gather | None = None,
) -> torch.Tensor:
    """Sigmoid loss -(1/N) sum_ij log sigmoid(z_ij * (exp(s) * v_i.t_j + b)); z = +1 for pairs, -1 else."""
    video_emb, text_emb = _gathered(video_emb, text_emb, gather)
    logits = logit_scale.exp() * similarity(video_emb, text_emb) + logit_bias
    signs = 2 * torch.eye(logits.shape[0], device=logits.device, dtype=logits.dtype) - 1
    return -F.logsigmoid(signs * logits).sum() / logits.shape[0]


def contrastive_loss(
    contrastive_type: str,
    video_emb: torch.Tensor,
    text_emb: torch.Tensor,
    logit_scale: torch.Tensor,
    logit_bias: torch.Tensor,
    gather: Gather | None = None,
) -> torch.Tensor:
    """``clip_loss`` or ``siglip_loss`` as ``model.network.contrastive_type`` says."""
    if contrastive_type == "clip":
        return clip_loss(video_emb, text_emb, logit_scale, gather)
    if contrastive_type == "siglip":
        return siglip_loss(video_emb, text_emb, logit_scale, logit_bias, gather)
    raise ValueError(f"model.network.contrastive_type must be clip or siglip, got {contrastive_type!r}")


def _model(model: nn.Module) -> nn.Module:
    """The CosmosEmbed1 inside a DDP/FSDP wrapper (``.module``), or the model itself."""
    return getattr(model, "module", model)


def captioning_loss(
    model: nn.Module,
    visual_query_output: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    dec_token_id: int,
    pad_token_id: int,
) -> torch.Tensor:
    """BLIP-2 image-grounded text generation: predict each next token from the queries and earlier text.

    ``[DEC]`` replaces ``[CLS]`` as the first token; padding is ignored; label smoothing 0.1.
    """
    decoder_ids = input_ids.clone()
    decoder_ids[:, 0] = dec_token_id
    labels = decoder_ids.masked_fill((decoder_ids == pad_token_id) | (attention_mask == 0), IGNORE_INDEX)
    logits = _model(model).caption_logits(visual_query_output, decoder_ids, attention_mask)
    return F.cross_entropy(
        logits[:, :-1].flatten(0, 1),
        labels[:, 1:].flatten(),
        ignore_index=IGNORE_INDEX,
        label_smoothing=LABEL_SMOOTHING,
    )


def matching_loss(
    model: nn.Module,
    visual_query_output: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    video_emb: torch.Tensor,
    text_emb: torch.Tensor,
    logit_scale: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """BLIP-2 image-text matching on the local batch with hard negatives.

    Each video gets one negative text and each text one negative video, sampled with probability
    softmax(exp(logit_scale) * similarity) over the other pairs; the ``itm_proj`` head classifies the
    B positive and 2B negative pairs (2-way cross-entropy).
    """
    batch = input_ids.shape[0]
    if batch < 2:
        raise ValueError("the matching loss needs at least 2 video-text pairs per batch to sample negatives")
    with torch.no_grad():
        sim = logit_scale.exp() * similarity(video_emb, text_emb).float()
        not_self = ~torch.eye(batch, dtype=torch.bool, device=sim.device)
        weights_v2t = sim.softmax(dim=1).add(1e-4).mul(not_self)
        weights_t2v = sim.t().softmax(dim=1).add(1e-4).mul(not_self)
        negative_text = torch.multinomial(weights_v2t, 1, generator=generator).squeeze(1)
        negative_video = torch.multinomial(weights_t2v, 1, generator=generator).squeeze(1)
    queries = torch.cat([visual_query_output, visual_query_output[negative_video], visual_query_output])
    ids = torch.cat([input_ids, input_ids, input_ids[negative_text]])
    mask = torch.cat([attention_mask, attention_mask, attention_mask[negative_text]])
    logits = _model(model).itm_logits(queries, ids, mask)
    labels = torch.cat([torch.ones(batch), torch.zeros(2 * batch)]).long().to(logits.device)
    return F.cross_entropy(logits, labels)
