"""The BLIP-2 Q-Former: a BERT whose first positions are learned query tokens.

Re-written from the BLIP-2 description (arXiv 2301.12597; LAVIS ``Qformer.py`` key names, embed1.md
§3.3/§3.5), without transformers' ``PreTrainedModel``:

- embeddings: word + absolute position embeddings for text (no token-type embeddings); query embeddings
  are prepended to the text embeddings before the embedding LayerNorm and get no position embedding;
- every layer: self-attention over [queries, text]; then the query positions go through cross-attention
  to the video tokens (every ``cross_attention_freq``-th layer) and their own FFN
  (``intermediate_query`` / ``output_query``), the text positions through the text FFN;
- ``cls.predictions``: the LM head whose decoder weight is tied to the word embeddings.

One module serves the three BLIP-2 modes: queries only (video embedding), text only (text embedding),
and queries + text (matching: bidirectional mask; captioning: causal text with the queries as prefix).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cosmos_embed.model.dims import QFormerDims


class QFormerEmbeddings(nn.Module):
    def __init__(self, dims: QFormerDims) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(dims.vocab_size, dims.hidden)
        self.position_embeddings = nn.Embedding(dims.max_position_embeddings, dims.hidden)
        self.LayerNorm = nn.LayerNorm(dims.hidden, eps=dims.layer_norm_eps)
        self.dropout = nn.Dropout(dims.dropout)

    def forward(self, input_ids: torch.Tensor | None, query_embeds: torch.Tensor | None) -> torch.Tensor:
        parts = [] if query_embeds is None else [query_embeds]
        if input_ids is not None:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            parts.append(self.word_embeddings(input_ids) + self.position_embeddings(positions))
        return self.dropout(self.LayerNorm(torch.cat(parts, dim=1)))


class MultiHeadAttention(nn.Module):
    """BERT self/cross attention projections (``query``/``key``/``value``) and the attention itself."""

    def __init__(self, dims: QFormerDims, kv_width: int) -> None:
        super().__init__()
        self.num_heads = dims.num_heads
        self.dropout = dims.dropout
        self.query = nn.Linear(dims.hidden, dims.hidden)
        self.key = nn.Linear(kv_width, dims.hidden)
        self.value = nn.Linear(kv_width, dims.hidden)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        return x.reshape(batch, length, self.num_heads, width // self.num_heads).transpose(1, 2)

    def forward(self, hidden: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = (
            self._heads(self.query(hidden)),
            self._heads(self.key(context)),
            self._heads(self.value(context)),
        )
        dropout = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return out.transpose(1, 2).flatten(2)


class AddNorm(nn.Module):
    """``dense`` -> dropout -> residual add -> ``LayerNorm`` (BERT's SelfOutput / Output)."""

    def __init__(self, in_width: int, dims: QFormerDims) -> None:
        super().__init__()
        self.dense = nn.Linear(in_width, dims.hidden)
        self.LayerNorm = nn.LayerNorm(dims.hidden, eps=dims.layer_norm_eps)
        self.dropout = nn.Dropout(dims.dropout)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class AttentionBlock(nn.Module):
    def __init__(self, dims: QFormerDims, kv_width: int) -> None:
        super().__init__()
        self.self = MultiHeadAttention(dims, kv_width)
        self.output = AddNorm(dims.hidden, dims)

    def forward(self, hidden: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.output(self.self(hidden, context, mask), hidden)


class Intermediate(nn.Module):
    def __init__(self, dims: QFormerDims) -> None:
        super().__init__()
        self.dense = nn.Linear(dims.hidden, dims.intermediate)
        self.act = nn.GELU()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(hidden))


class QFormerLayer(nn.Module):
    def __init__(self, dims: QFormerDims, index: int, encoder_width: int) -> None:
        super().__init__()
        self.attention = AttentionBlock(dims, dims.hidden)
        self.has_cross_attention = index % dims.cross_attention_freq == 0
        if self.has_cross_attention:
            self.crossattention = AttentionBlock(dims, encoder_width)
        self.intermediate = Intermediate(dims)
        self.output = AddNorm(dims.intermediate, dims)
        self.intermediate_query = Intermediate(dims)
        self.output_query = AddNorm(dims.intermediate, dims)

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor | None,
        num_queries: int,
        encoder_hidden_states: torch.Tensor | None,
    ) -> torch.Tensor:
        hidden = self.attention(hidden, hidden, mask)
        parts = []
        if num_queries:
            queries = hidden[:, :num_queries]
            if self.has_cross_attention and encoder_hidden_states is not None:
                queries = self.crossattention(queries, encoder_hidden_states)
            parts.append(self.output_query(self.intermediate_query(queries), queries))
        if hidden.shape[1] > num_queries:
            text = hidden[:, num_queries:]
            parts.append(self.output(self.intermediate(text), text))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


class QFormerEncoder(nn.Module):
    def __init__(self, dims: QFormerDims, encoder_width: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(QFormerLayer(dims, index, encoder_width) for index in range(dims.num_layers))


class QFormerBert(nn.Module):
    def __init__(self, dims: QFormerDims, encoder_width: int) -> None:
        super().__init__()
        self.embeddings = QFormerEmbeddings(dims)
        self.encoder = QFormerEncoder(dims, encoder_width)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        query_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """Hidden states [B, Q + T, H] of [queries, text].

        ``attention_mask`` [B, T] marks real text tokens (1) vs padding (0). ``causal`` gives the
        captioning mask: queries see only queries, text sees the queries and earlier text.
        ``encoder_hidden_states`` [B, M, encoder_width] feeds the queries' cross-attention; without it
        the queries are a prefix that only self-attends.
        """
        if input_ids is None and query_embeds is None:
            raise ValueError("QFormerBert needs input_ids, query_embeds or both")
        hidden = self.embeddings(input_ids, query_embeds)
        num_queries = 0 if query_embeds is None else query_embeds.shape[1]
        mask = self._self_attention_mask(hidden, num_queries, input_ids, attention_mask, causal)
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask, num_queries, encoder_hidden_states)
        return hidden

    @staticmethod
    def _self_attention_mask(
        hidden: torch.Tensor,
        num_queries: int,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        causal: bool,
    ) -> torch.Tensor | None:
        """Boolean SDPA mask (True = may attend): [B, 1, 1, L] padding-only or [B, 1, L, L] causal."""
        batch, length = hidden.shape[:2]
        if input_ids is None or (attention_mask is None and not causal):
            return None
        text_mask = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        key_mask = torch.cat([text_mask.new_ones(batch, num_queries), text_mask], dim=1)
        if not causal:
            return key_mask[:, None, None, :]
        rows = torch.arange(length, device=hidden.device)
        row_is_text = rows[:, None] >= num_queries
        col_is_query = rows[None, :] < num_queries
        allowed = col_is_query | (row_is_text & (rows[None, :] <= rows[:, None]))
        return allowed[None, None] & key_mask[:, None, None, :]


class PredictionHeadTransform(nn.Module):
    def __init__(self, dims: QFormerDims) -> None:
        super().__init__()
        self.dense = nn.Linear(dims.hidden, dims.hidden)
        self.act = nn.GELU()
        self.LayerNorm = nn.LayerNorm(dims.hidden, eps=dims.layer_norm_eps)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(hidden)))


class LMPredictionHead(nn.Module):
    """Next-token logits: ``decoder`` (weight tied to the word embeddings, own bias) + ``bias``."""

    def __init__(self, dims: QFormerDims) -> None:
        super().__init__()
        self.transform = PredictionHeadTransform(dims)
        # inferred (embed1.md §3.4/§3.5): the published totals hold exactly one vocab-sized vector more
        # than a BERT LM head whose bias is shared by ``bias`` and ``decoder.bias``, and the released
        # shards store both keys; so here they are two parameters and their sum is the output bias.
        # Uncertain: if the released pair is one tied tensor stored twice, this sum doubles it for the
        # captioning head only (embeddings are unaffected). BERT init puts BERT's bias in ``decoder.bias``.
        self.decoder = nn.Linear(dims.hidden, dims.vocab_size)
        self.bias = nn.Parameter(torch.zeros(dims.vocab_size))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden)) + self.bias


class LMHead(nn.Module):
    def __init__(self, dims: QFormerDims) -> None:
        super().__init__()
        self.predictions = LMPredictionHead(dims)


class QFormer(nn.Module):
    """``bert`` (the Q-Former encoder) + ``cls`` (the LM head), like LAVIS' ``BertLMHeadModel``."""

    def __init__(self, dims: QFormerDims, encoder_width: int) -> None:
        super().__init__()
        self.dims = dims
        self.bert = QFormerBert(dims, encoder_width)
        self.cls = LMHead(dims)
        self.tie_weights()
        self.register_load_state_dict_pre_hook(_tolerate_tied_and_derived_keys)
        self.register_load_state_dict_post_hook(lambda module, _incompatible: module.tie_weights())

    def tie_weights(self) -> None:
        """Share the word-embedding matrix with the LM decoder (call again after ``assign`` loads)."""
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.cls.predictions(hidden)


TIED_DECODER_KEY = "cls.predictions.decoder.weight"
WORD_EMBEDDINGS_KEY = "bert.embeddings.word_embeddings.weight"
POSITION_IDS_KEY = "bert.embeddings.position_ids"


def _tolerate_tied_and_derived_keys(module: QFormer, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Accept checkpoints that drop the tied decoder copy (safetensors) or keep BERT's ``position_ids``."""
    state_dict.pop(prefix + POSITION_IDS_KEY, None)
    if prefix + TIED_DECODER_KEY not in state_dict and prefix + WORD_EMBEDDINGS_KEY in state_dict:
        state_dict[prefix + TIED_DECODER_KEY] = state_dict[prefix + WORD_EMBEDDINGS_KEY]


def init_qformer_weights(qformer: QFormer) -> None:
    """BERT initialisation: normal(0, init_std) weights (0.02 at full scale), zero biases, unit LayerNorms."""
    for module in qformer.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=qformer.dims.init_std)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    nn.init.zeros_(qformer.cls.predictions.bias)
