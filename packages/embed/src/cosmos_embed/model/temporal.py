"""Temporal encodings applied to the per-frame ViT tokens before the Q-Former sees them.

# inferred (embed1.md §3.4): no definition of Cosmos-Embed1's ``EncodingFactory`` was reachable. The
# published parameter totals leave room for one [num_video_frames, vit_width] tensor, so both types own
# exactly that tensor (``temporal_encoding.weight``):
#
# - ``temporal_parameter``: a learned per-frame embedding added to every token of frame t;
# - ``neighboring_token_propagation``: each token receives a learned per-frame, per-channel share of the
#   mean of the same-position tokens of its neighbouring frames (t-1, t+1), i.e. information propagates
#   along time between neighbouring tokens.
#
# Both start at zero, so a model initialised from image weights begins as a per-frame model.
"""

from __future__ import annotations

import torch
from torch import nn

from cosmos_embed.model.config import TemporalEncodingType


class TemporalEncoding(nn.Module):
    def __init__(self, encoding_type: TemporalEncodingType, num_frames: int, width: int) -> None:
        super().__init__()
        self.encoding_type = encoding_type
        self.weight = nn.Parameter(torch.zeros(num_frames, width))

    def forward(self, tokens: torch.Tensor, frame_index: torch.Tensor | None = None) -> torch.Tensor:
        """``tokens`` [B, T, N, D] -> same shape; ``frame_index`` [T]: positions of the frames in the clip."""
        num_frames = tokens.shape[1]
        if frame_index is None:
            if num_frames > self.weight.shape[0]:
                raise ValueError(
                    f"got {num_frames} frames but the model has {self.weight.shape[0]} (model.network.num_video_frames)"
                )
            per_frame = self.weight[:num_frames]
        else:
            per_frame = self.weight[frame_index]
        per_frame = per_frame[None, :, None, :].to(tokens.dtype)
        if self.encoding_type == "temporal_parameter":
            return tokens + per_frame
        return tokens + per_frame * _neighbour_mean(tokens)


def _neighbour_mean(tokens: torch.Tensor) -> torch.Tensor:
    """Mean of frames t-1 and t+1 (only the existing one at the ends; zeros for a single frame)."""
    if tokens.shape[1] == 1:
        return torch.zeros_like(tokens)
    zero = torch.zeros_like(tokens[:, :1])
    previous = torch.cat([zero, tokens[:, :-1]], dim=1)
    following = torch.cat([tokens[:, 1:], zero], dim=1)
    count = torch.full((tokens.shape[1],), 2.0, device=tokens.device, dtype=tokens.dtype)
    count[0] = count[-1] = 1.0
    return (previous + following) / count[None, :, None, None]
