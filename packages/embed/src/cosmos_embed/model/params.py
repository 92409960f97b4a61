"""Parameter counts of a network config, computed on the meta device (no weights allocated).

How the published 224p total 1,172,696,698 decomposes in this implementation (tied weights once):

    visual_encoder  985,949,440  patch embed 829,312 + cls 1,408 + pos_embed 257x1408 = 361,856
                                 + 39 blocks x 25,250,176
                                   # inferred (embed1.md §3.2/§3.4): a full qkv bias (k bias included)
                                   # per block, 1,408 more than LAVIS' q_bias/v_bias
    ln_vision             2,816
    temporal_encoding    11,264  # inferred (embed1.md §3.4): one [8, 1408] tensor
    qformer         186,313,334  embeddings 23,836,416 (no token types: the published embedding count
                                 23,834,880 = (30523 + 512) x 768) + 6 layers with cross-attention
                                 x 15,158,784 + 6 without x 11,811,840 + LM head 653,174
                                 # inferred (embed1.md §3.4): the LM head holds two vocab-sized bias
                                 # vectors (cls.predictions.bias and decoder.bias), see LMPredictionHead
    query_tokens         24,576  32 x 768
    vision/text_proj    393,728  2 x 769 x 256 (the 336p/448p deltas prove these two; embed1.md §3.4)
    itm_proj              1,538  # inferred (embed1.md §3.4): Linear(768, 2), BLIP-2's ITM head
    logit_scale/bias          2

336p/448p differ only by pos_embed (577 / 1025 positions) and embed_dim 768.
"""

from __future__ import annotations

import torch

from cosmos_embed.model.config import NetworkConfig


def count_parameters(cfg: NetworkConfig, freeze_visual_encoder: bool = False) -> tuple[int, int]:
    """(total, trainable) parameters of ``CosmosEmbed1(cfg)``; tied weights count once.

    ``freeze_visual_encoder`` mirrors ``train.freeze_visual_encoder`` (the ViT stops training,
    ``ln_vision`` does not). ``cosmos-run cosmos-embed1 summary`` counts what training trains.
    """
    from cosmos_embed.model.embed1 import CosmosEmbed1

    with torch.device("meta"):
        model = CosmosEmbed1(cfg)
    if freeze_visual_encoder:
        model.freeze_visual_encoder()
    parameters = list(model.parameters())
    total = sum(p.numel() for p in parameters)
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    return total, trainable
