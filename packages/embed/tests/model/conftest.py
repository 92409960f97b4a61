"""A tiny Cosmos-Embed1 (64x64 frames, ~350K parameters) and inputs for it."""

from __future__ import annotations

import attrs
import pytest
import torch
from cosmos_embed.model.config import NetworkConfig
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset


@pytest.fixture
def tiny_cfg() -> NetworkConfig:
    return preset("tiny")


def build_tiny(seed: int = 0, **changes) -> CosmosEmbed1:
    torch.manual_seed(seed)
    return CosmosEmbed1(attrs.evolve(preset("tiny"), **changes)).eval()


@pytest.fixture
def make_tiny():
    """``make_tiny(seed=0, **network_changes)``: a fresh tiny model in eval mode."""
    return build_tiny


@pytest.fixture
def tiny_model() -> CosmosEmbed1:
    return build_tiny()


@pytest.fixture
def videos() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (3, 8, 3, 64, 64), dtype=torch.uint8, generator=generator)


@pytest.fixture
def text_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    input_ids = torch.randint(5, 545, (3, 32), generator=generator)
    input_ids[:, 0] = 2  # [CLS]
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 12:] = 0
    input_ids[1, 12:] = 0
    return input_ids, attention_mask
