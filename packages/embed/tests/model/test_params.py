"""Parameter totals of the full-size presets, counted on the meta device, against the published numbers."""

from __future__ import annotations

import attrs
import pytest
import torch
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.params import count_parameters
from cosmos_embed.model.presets import PARAMETER_COUNTS, preset

EMBEDDING_PARAMETERS = 23_834_880  # (30523 + 512) * 768, published for all three (embed1.md §2.2)


def _without_te(name: str):
    cfg = preset(name)
    return attrs.evolve(cfg, visual_encoder=attrs.evolve(cfg.visual_encoder, transformer_engine=False))


@pytest.mark.parametrize(
    ("name", "published"), [("224p", 1_172_696_698), ("336p", 1_173_934_714), ("448p", 1_174_565_498)]
)
def test_published_totals(name, published):
    total, trainable = count_parameters(_without_te(name))
    assert total == trainable == published == PARAMETER_COUNTS[name]


def test_embedding_parameters_and_frozen_visual_encoder():
    with torch.device("meta"):
        model = CosmosEmbed1(_without_te("224p"))
    embeddings = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding))
    assert embeddings == EMBEDDING_PARAMETERS
    vit = sum(p.numel() for p in model.visual_encoder.parameters())
    total, trainable = count_parameters(_without_te("224p"), freeze_visual_encoder=True)
    assert trainable == total - vit
    assert all(p.is_meta for p in model.parameters())


def test_tiny_preset_count():
    total, trainable = count_parameters(preset("tiny"))
    assert total == trainable == PARAMETER_COUNTS["tiny"]
    assert 100_000 < total < 1_000_000
