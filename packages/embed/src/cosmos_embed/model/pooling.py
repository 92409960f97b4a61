"""``query_pooling``: reduce the Q-Former's query outputs [B, Q, H] to the video vector.

- ``avg`` (all released checkpoints): mean over the queries -> [B, H], no parameters;
- ``attention``: a learned score per query (``score``: Linear(H, 1)), softmax over queries, weighted sum;
- ``identity``: keep all queries -> [B, Q, H]; similarities then take the best query per pair (BLIP-2).
"""

from __future__ import annotations

import torch
from torch import nn

from cosmos_embed.model.config import QueryPoolingType


class QueryPooling(nn.Module):
    def __init__(self, pooling_type: QueryPoolingType, width: int) -> None:
        super().__init__()
        self.pooling_type = pooling_type
        if pooling_type == "attention":
            self.score = nn.Linear(width, 1)

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        if self.pooling_type == "avg":
            return queries.mean(dim=1)
        if self.pooling_type == "attention":
            weights = self.score(queries).softmax(dim=1)
            return (weights * queries).sum(dim=1)
        return queries
