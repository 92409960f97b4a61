from __future__ import annotations

from pathlib import Path

import attrs
import cosmos_embed
from cosmos_embed.model.config import (
    DEFAULT_LORA_TARGETS,
    LoRAConfig,
    NetworkConfig,
    VisualEncoderConfig,
    validate_network_config,
)
from cosmos_embed.model.dims import TINY_QFORMER
from cosmos_embed.model.presets import PRESETS, preset


def test_seed_defaults():
    network = NetworkConfig()
    assert (network.embed_dim, network.num_query_tokens, network.max_txt_len, network.num_video_frames) == (
        256,
        32,
        128,
        8,
    )
    assert network.spatial_resolution == [224, 224]
    assert network.temporal_encoding_type == "neighboring_token_propagation"
    assert network.contrastive_type == "clip" and network.query_pooling_type == "avg"
    assert network.visual_encoder == VisualEncoderConfig()
    assert network.visual_encoder.type == "eva_vit_g" and network.visual_encoder.transformer_engine is True
    lora = LoRAConfig()
    assert (lora.enabled, lora.lora_rank, lora.lora_alpha, lora.lora_dropout, lora.bias) == (
        False,
        8,
        16,
        0.1,
        "none",
    )
    assert lora.target_modules == DEFAULT_LORA_TARGETS and "itm_proj" in lora.target_modules
    assert lora.modules_to_save == ["temporal_encoding", "query_pooling"]


def test_every_field_has_help():
    for cls in (NetworkConfig, VisualEncoderConfig, LoRAConfig):
        for field in attrs.fields(cls):
            assert field.metadata.get("help"), f"{cls.__name__}.{field.name} has no help"


def test_presets_are_valid():
    assert set(PRESETS) == {"224p", "336p", "448p", "tiny"}
    for name in PRESETS:
        assert validate_network_config(preset(name)) == [], name
    assert preset("336p").embed_dim == 768 and preset("448p").spatial_resolution == [448, 448]


def test_scale_and_vit_type_must_agree():
    problems = validate_network_config(attrs.evolve(preset("224p"), scale="tiny", spatial_resolution=[64, 64]))
    assert any("visual_encoder.type=eva_vit_g does not go with model.network.scale=tiny" in p for p in problems)


def test_lora_with_transformer_engine_is_a_config_error():
    problems = validate_network_config(preset("224p"), LoRAConfig(enabled=True))
    assert any("transformer_engine=false" in p and "PEFT" in p for p in problems)
    no_te = attrs.evolve(preset("224p"), visual_encoder=VisualEncoderConfig(transformer_engine=False))
    assert validate_network_config(no_te, LoRAConfig(enabled=True)) == []


def test_bad_values_are_reported_with_their_paths():
    bad = attrs.evolve(preset("tiny"), spatial_resolution=[60, 64], max_txt_len=500, num_heldout_frames=8)
    problems = "\n".join(validate_network_config(bad))
    assert "model.network.spatial_resolution=[60, 64]" in problems
    assert "model.network.max_txt_len=500" in problems
    assert "model.network.num_heldout_frames=8" in problems


def test_tiny_vocab_size_matches_the_shipped_vocab():
    vocab = Path(cosmos_embed.__file__).parent / "assets" / "tiny_vocab.txt"
    assert len(vocab.read_text().splitlines()) + 1 == TINY_QFORMER.vocab_size
