"""EMA shadow weights: the update rule, swapping them in, their checkpoint state, and readers using them."""

from __future__ import annotations

import logging

import attrs
import pytest
import torch
from cosmos_core.config.loader import unstructure
from cosmos_core.training.checkpoint import CHECKPOINT_FORMAT, atomic_save
from cosmos_embed.config import FAMILY, ModelConfig
from cosmos_embed.ema import EMAWeights, with_ema_weights
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import preset
from cosmos_embed.tasks.common import network_from_checkpoint
from torch import nn


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trained = nn.Parameter(torch.tensor([1.0, -2.0]))
        self.frozen = nn.Parameter(torch.tensor([7.0]), requires_grad=False)


def test_update_rule_matches_a_hand_computation():
    toy = Toy()
    ema = EMAWeights(decay=0.9)
    ema.attach(toy)
    assert set(ema.shadow) == {"trained"}  # frozen parameters are not averaged
    with torch.no_grad():
        toy.trained.copy_(torch.tensor([3.0, 0.0]))
    ema.update()
    # 0.9 * [1, -2] + 0.1 * [3, 0] = [1.2, -1.8]
    assert ema.shadow["trained"].tolist() == pytest.approx([1.2, -1.8], rel=1e-6)
    with torch.no_grad():
        toy.trained.copy_(torch.tensor([5.0, 10.0]))
    ema.update()
    # 0.9 * [1.2, -1.8] + 0.1 * [5, 10] = [1.58, -0.62]
    assert ema.shadow["trained"].tolist() == pytest.approx([1.58, -0.62], rel=1e-6)
    assert ema.updates == 2 and toy.trained.tolist() == [5.0, 10.0]  # the parameters are untouched


def test_applied_swaps_the_shadows_in_and_back_even_on_errors():
    toy = Toy()
    ema = EMAWeights(decay=0.5)
    ema.attach(toy)
    with torch.no_grad():
        toy.trained.copy_(torch.tensor([3.0, 2.0]))
    ema.update()  # shadow [2, 0]
    with ema.applied():
        assert toy.trained.tolist() == [2.0, 0.0]
    assert toy.trained.tolist() == [3.0, 2.0]
    with pytest.raises(RuntimeError), ema.applied():
        raise RuntimeError("validation failed")
    assert toy.trained.tolist() == [3.0, 2.0]


def test_state_round_trip_and_a_mismatching_state_starts_fresh_where_it_must(caplog):
    toy = Toy()
    ema = EMAWeights(decay=0.5)
    ema.attach(toy)
    with torch.no_grad():
        toy.trained.add_(2.0)
    ema.update()
    saved = ema.state_dict()
    restored = EMAWeights(decay=0.5)
    restored.load_state_dict(saved)
    restored.attach(Toy())
    assert torch.equal(restored.shadow["trained"], saved["shadow"]["trained"]) and restored.updates == 1
    other = EMAWeights(decay=0.5)
    other.load_state_dict({"updates": 3, "shadow": {"gone": torch.zeros(1)}})
    other.attach(Toy())
    assert other.shadow["trained"].tolist() == [1.0, -2.0]
    assert "1 start from the current weights (trained), 1 saved shadows are dropped (gone)" in caplog.text


def test_tied_parameters_get_the_shadow_under_every_key():
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny"))
    ema = EMAWeights(decay=0.5)
    ema.attach(network)
    word, decoder = "qformer.bert.embeddings.word_embeddings.weight", "qformer.cls.predictions.decoder.weight"
    assert ema.aliases == {decoder: word}
    with torch.no_grad():
        ema.shadow[word].fill_(0.25)
    state = with_ema_weights(network.state_dict(), ema.state_dict())
    assert torch.equal(state[decoder], state[word]) and state[word].unique().tolist() == [0.25]


def write_training_checkpoint(path, network: CosmosEmbed1, ema_shadow: dict) -> None:
    metadata = {"family": FAMILY, "model": unstructure(ModelConfig(network=network.config, precision="fp32"))}
    payload = {
        "format": CHECKPOINT_FORMAT,
        **{key: {} for key in ("optimizer", "scheduler", "scaler", "data")},
        "model": network.state_dict(),
        "iteration": 3,
        "rng": [],
        "metadata": metadata,
        "callbacks": {"ema": {"decay": 0.9, "updates": 3, "shadow": ema_shadow, "aliases": {}}},
    }
    atomic_save(payload, path)


def test_evaluate_inference_and_export_read_the_ema_weights_unless_told_otherwise(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="cosmos.embed")
    torch.manual_seed(0)
    network = CosmosEmbed1(preset("tiny"))
    shadow = {"vision_proj.weight": torch.full_like(network.vision_proj.weight, 0.5)}
    write_training_checkpoint(tmp_path / "ckpt.pth", network, shadow)
    spec = ModelConfig(network=preset("tiny"))
    loaded, _ = network_from_checkpoint(str(tmp_path / "ckpt.pth"), spec, "evaluate.checkpoint")
    assert loaded.vision_proj.weight.unique().tolist() == [0.5]
    assert torch.equal(loaded.text_proj.weight, network.text_proj.weight)  # no shadow: the trained weight
    assert "using its EMA weights (3 updates" in caplog.text
    raw, _ = network_from_checkpoint(
        str(tmp_path / "ckpt.pth"), attrs.evolve(spec, use_ema_weights=False), "evaluate.checkpoint"
    )
    assert torch.equal(raw.vision_proj.weight, network.vision_proj.weight)
