"""A toy model family: what any family hands the exporters, without Cosmos-Embed1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
import torch
import torch.nn.functional as F
from torch import nn


class ToyEncoder(nn.Module):
    """features [B, 3, 6] -> unit vectors [B, 4]; the mean over dim 1 must follow the batch."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 4)
        self.norm = nn.LayerNorm(6)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.norm(features).mean(dim=1)), dim=-1)


class ToyPair(nn.Module):
    """Two inputs, two outputs, like a combined video-text graph."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = ToyEncoder()
        self.table = nn.Embedding(11, 4)

    def forward(self, features: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(features), F.normalize(self.table(ids).sum(dim=1), dim=-1)


@attrs.frozen
class ToyGraph:
    name: str
    module: nn.Module
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    maker: Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]
    tolerance: float = 1e-5

    def make_inputs(self, batch_size: int, seed: int) -> tuple[torch.Tensor, ...]:
        return self.maker(batch_size, torch.Generator().manual_seed(seed))


@attrs.define
class ToySource:
    graphs: dict[str, ToyGraph]
    family: str = "toy-family"


@attrs.define
class Settings:
    """The seed's export fields, as any family's config has them."""

    mode: str = "video"
    opset_version: int = 17
    batch_size: int = 1
    on_cpu: bool = True
    verbose: bool = False
    simplify: bool = False


def toy_source() -> ToySource:
    torch.manual_seed(0)

    def features(batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (torch.randn(batch, 3, 6, generator=generator),)

    def pair(batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        return features(batch, generator) + (torch.randint(0, 11, (batch, 5), generator=generator),)

    return ToySource(
        graphs={
            "video": ToyGraph("video", ToyEncoder().eval(), ("features",), ("embedding",), features),
            "combined": ToyGraph(
                "combined", ToyPair().eval(), ("features", "ids"), ("embedding", "ids_embedding"), pair
            ),
        }
    )


@pytest.fixture
def source() -> ToySource:
    return toy_source()


@pytest.fixture
def settings() -> Any:
    return Settings()
