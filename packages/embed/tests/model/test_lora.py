from __future__ import annotations

import attrs
import pytest
import torch
from cosmos_core.errors import UserInputError
from cosmos_embed.model.config import LoRAConfig
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.lora import LoRAConfigError, apply_lora, has_lora, merge_lora
from cosmos_embed.model.presets import preset

LORA = LoRAConfig(enabled=True, lora_rank=4, lora_alpha=8)


def test_only_adapters_and_modules_to_save_train(tiny_model):
    model = apply_lora(tiny_model, LORA)
    assert isinstance(model, CosmosEmbed1) and model is tiny_model
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name or "modules_to_save" in name for name in trainable)
    assert any(name.startswith("visual_encoder.blocks.0.attn.qkv.lora_A") for name in trainable)
    assert any(name.startswith("qformer.bert.encoder.layer.0.crossattention.self.query.lora_A") for name in trainable)
    assert any(name.startswith("itm_proj.lora_A") for name in trainable)
    assert "temporal_encoding.modules_to_save.default.weight" in trainable


def test_output_unchanged_at_init_and_merge_keeps_outputs_and_keys(videos, text_batch, make_tiny):
    model = make_tiny()
    keys = set(model.state_dict())
    before = model(videos, *text_batch)
    apply_lora(model, LORA)
    at_init = model(videos, *text_batch)
    torch.testing.assert_close(at_init.visual_proj, before.visual_proj)
    torch.testing.assert_close(at_init.text_proj, before.text_proj)

    with torch.no_grad():  # pretend training moved the adapters and the saved modules
        for name, parameter in model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.normal_(std=0.05)
    tuned = model(videos, *text_batch)
    assert not torch.allclose(tuned.visual_proj, before.visual_proj)

    merged = merge_lora(model)
    assert not has_lora(merged)
    assert set(merged.state_dict()) == keys
    out = merged(videos, *text_batch)
    torch.testing.assert_close(out.visual_proj, tuned.visual_proj, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.text_proj, tuned.text_proj, atol=1e-5, rtol=1e-4)


def test_lora_with_transformer_engine_is_refused():
    cfg = preset("tiny")
    cfg = attrs.evolve(cfg, visual_encoder=attrs.evolve(cfg.visual_encoder, transformer_engine=True))
    with pytest.raises(ValueError, match="transformer_engine=false"):
        from cosmos_embed.model import te_backend

        te_backend._warned = False
        apply_lora(CosmosEmbed1(cfg), LORA)


def test_disabled_lora_leaves_the_model_alone(tiny_model):
    assert apply_lora(tiny_model, LoRAConfig()) is tiny_model and not has_lora(tiny_model)


@pytest.mark.parametrize("targets", [["no_such_module"], ["qkv", "no_such_module"]])
def test_unknown_target_fails_with_the_config_path_and_names_that_exist(tiny_model, targets):
    with pytest.raises(LoRAConfigError, match="model.lora.target_modules") as raised:
        apply_lora(tiny_model, attrs.evolve(LORA, target_modules=targets))
    assert isinstance(raised.value, UserInputError) and isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert "['no_such_module'] match no module" in message and "'qkv', 'fc1'" in message
    assert not has_lora(tiny_model)


def test_target_that_lora_cannot_wrap_is_named(tiny_model):
    with pytest.raises(LoRAConfigError, match=r"'attn' matches visual_encoder\.blocks\.0\.attn \(Attention\)"):
        apply_lora(tiny_model, attrs.evolve(LORA, target_modules=["attn"]))


def test_unknown_module_to_save_lists_the_top_level_modules(tiny_model):
    with pytest.raises(LoRAConfigError, match=r"model.lora.modules_to_save: \['pooling_head'\]") as raised:
        apply_lora(tiny_model, attrs.evolve(LORA, modules_to_save=["pooling_head"]))
    assert "'query_pooling'" in str(raised.value)
