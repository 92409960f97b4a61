"""Training-time condition dropout: text (for classifier-free guidance) and hint sub-conditions.

Reference: ``diffusion/conditioner.py`` (``BaseConditionEntry.random_dropout_input``, ``TextAttr``;
``TextConfig.dropout_rate = 0.2``) and ``training/models/model_ctrl.py::encode_latent``
(``hint_dropout_rate=0.3``, ``hint_mask``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

TEXT_DROPOUT_RATE = 0.2
HINT_DROPOUT_RATE = 0.3


def drop_text_embeddings(
    embeddings: torch.Tensor, rate: float = TEXT_DROPOUT_RATE, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero each sample's T5 embeddings ``[B, L, D]`` with probability ``rate``; the mask is never dropped."""
    keep = torch.bernoulli(torch.full((embeddings.shape[0],), 1.0 - rate), generator=generator)
    return embeddings * keep.to(embeddings).reshape(-1, *([1] * (embeddings.ndim - 1)))


def select_hint_conditions(
    num_conditions: int,
    *,
    training: bool,
    rate: float = HINT_DROPOUT_RATE,
    hint_mask: Sequence[bool] | None = None,
    generator: torch.Generator | None = None,
) -> list[bool]:
    """Which of the hint's concatenated 3-channel conditions are kept.

    Only hints holding several conditions are affected: in training each is kept with probability
    ``1 - rate`` (at least one always), at inference ``hint_mask`` decides. A single-modality hint — every
    released experiment — is always kept.
    """
    if num_conditions <= 1 or rate <= 0:
        return [True] * num_conditions
    if not training:
        mask = list(hint_mask) if hint_mask is not None else [True] * num_conditions
        if len(mask) != num_conditions:
            raise ValueError(f"hint_mask has {len(mask)} entries for {num_conditions} conditions")
        return mask
    keep = torch.rand(num_conditions, generator=generator) > rate
    if not keep.any():
        keep[torch.randint(num_conditions, (1,), generator=generator)] = True
    return keep.tolist()
