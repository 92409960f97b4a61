"""Initialising the Q-Former from a BERT checkpoint (``model.network.qformer_pretrain_ckpt``), as BLIP-2 does.

BERT's embeddings, self-attention, FFN and LM-head transform load as they are; the query FFN
(``intermediate_query`` / ``output_query``) starts as a copy of the text FFN; cross-attention, the
``[DEC]`` embedding row and the heads outside the Q-Former keep their random initialisation. BERT's
token-type embeddings, pooler and next-sentence head have no place in the Q-Former and are skipped.
"""

from __future__ import annotations

import torch
from cosmos_core.errors import UserInputError

from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.loading import read_state_dict

DEFAULT_BERT_REPO = "google-bert/bert-base-uncased"
CKPT_OPTION = "model.network.qformer_pretrain_ckpt"
DEFAULT_BERT_PURPOSE = (
    f"model.network.pretrained_text_encoder=true (BERT weights from {DEFAULT_BERT_REPO}, or a local copy "
    f"named by {CKPT_OPTION})"
)
SKIPPED = (
    "bert.embeddings.token_type_embeddings",
    "bert.pooler.",
    "cls.seq_relationship.",
    "bert.embeddings.position_ids",
)
VOCAB_SIZED = ("bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight")


class BertCheckpointError(UserInputError, ValueError):
    """The BERT checkpoint does not fit the Q-Former (not a bert-base masked-LM checkpoint)."""


def _bert_key(key: str) -> str:
    """Old BERT checkpoints name LayerNorm parameters gamma/beta."""
    return key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")


def load_bert_into_qformer(model: CosmosEmbed1, source: str, purpose: str = CKPT_OPTION) -> None:
    """Copy BERT weights from ``source`` (file, directory or cached repo id) into ``model.qformer``.

    ``purpose`` is the config path that asked for them; read errors start with it.
    """
    bert = {_bert_key(key): value for key, value in read_state_dict(source, purpose).items()}
    if not any(key.startswith("bert.") for key in bert):  # a BertModel checkpoint: no "bert." prefix
        bert = {f"bert.{key}": value for key, value in bert.items()}
    bert.pop("cls.predictions.decoder.bias", None)  # the same tensor as cls.predictions.bias in BERT
    qformer = model.qformer
    targets = dict(qformer.named_parameters(remove_duplicate=False))
    unused = []
    with torch.no_grad():
        for key, value in bert.items():
            if key.startswith(SKIPPED):
                continue
            if key == "cls.predictions.bias":
                target = qformer.cls.predictions.decoder.bias
                target[: value.shape[0]].copy_(value)
                qformer.cls.predictions.bias.zero_()
                continue
            if key not in targets:
                unused.append(key)
                continue
            target = targets[key]
            if key in VOCAB_SIZED:
                target[: value.shape[0]].copy_(value)
            elif target.shape != value.shape:
                raise BertCheckpointError(
                    f"{source}: {key} has shape {tuple(value.shape)} but the Q-Former expects "
                    f"{tuple(target.shape)}; "
                    f"{CKPT_OPTION} must be a bert-base checkpoint"
                )
            else:
                target.copy_(value)
        for name, target in targets.items():
            if "_query." in name:
                text_twin = name.replace("_query.", ".")
                if text_twin in bert:
                    target.copy_(bert[text_twin])
    if unused:
        raise BertCheckpointError(
            f"{source}: {len(unused)} BERT tensor(s) have no place in the Q-Former (first: {unused[:3]}); "
            f"{CKPT_OPTION} must be a BERT (BertForMaskedLM / BertForPreTraining) "
            "checkpoint"
        )
