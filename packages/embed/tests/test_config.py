"""The experiment schema keeps the seed's names and defaults, and rejects bad specs up front."""

import pytest
from cosmos_core.config.loader import ConfigError, apply_overrides, parse_overrides, structure
from cosmos_core.plugins import load_plugins
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.validation import validate_experiment


def build(*overrides):
    return structure(ExperimentConfig, apply_overrides({}, parse_overrides(list(overrides))))


def test_seed_defaults():
    config = build()
    assert config.results_dir == "/results"
    assert config.train.max_iter == 50000 and config.train.seed == 1234
    assert config.train.optim.lr == 1e-5 and config.train.optim.betas == [0.9, 0.98]
    assert config.train.freeze_visual_encoder is True and config.train.use_captioning_loss is True
    assert config.model.network.embed_dim == 256 and config.model.network.num_query_tokens == 32
    assert config.model.network.visual_encoder.transformer_engine is True
    assert config.model.lora.lora_rank == 8 and config.model.lora.lora_alpha == 16
    assert config.dataset.train_dataset.dataset_type == "mock"
    assert config.evaluate.callbacks.top_k_values == [1, 3, 5, 10]
    assert config.inference.k == 5
    assert config.export.opset_version == 17 and config.export.mode == "video"
    assert set(config.train.callbacks) >= {"wandb", "clamp_logit_scale", "iter_speed", "gradient_clip"}


def test_unknown_key_and_wrong_type_name_their_paths():
    with pytest.raises(ConfigError) as info:
        build("train.optim.learning_rate=1e-3", "dataset.train_dataset.batch_size=big")
    problems = info.value.problems
    assert "train.optim.learning_rate: unknown config key; did you mean 'train.optim.lr'?" in problems
    assert any(p.startswith("dataset.train_dataset.batch_size: expected int") for p in problems)


def test_lora_with_transformer_engine_is_a_config_error_that_says_why():
    config = build("model.lora.enabled=true", "model.network.visual_encoder.transformer_engine=true")
    problems = validate_experiment(config, "train", load_plugins())
    assert any("model.lora.enabled" in p and "transformer_engine=false" in p and "PEFT" in p for p in problems)


def test_unknown_dataset_type_and_callback_suggest_registered_names():
    config = build("dataset.train_dataset.dataset_type=vad_r2", "train.callbacks={iter_sped: {}}")
    problems = validate_experiment(config, "train", load_plugins())
    assert any("dataset.train_dataset.dataset_type" in p and "'vad_r1'" in p for p in problems)
    assert any("train.callbacks.iter_sped" in p and "'iter_speed'" in p for p in problems)


def test_inference_needs_a_checkpoint_and_queries():
    problems = validate_experiment(build(), "inference", load_plugins())
    assert any(p.startswith("inference.checkpoint is required") for p in problems)
    assert any(p.startswith("inference.query has no queries") for p in problems)


def test_bad_callback_parameters_are_caught_before_any_work():
    config = build("train.callbacks={iter_speed: {every: 5}}")
    problems = validate_experiment(config, "train", load_plugins())
    assert any(p.startswith("train.callbacks.iter_speed:") and "every" in p for p in problems), problems


def test_options_not_implemented_are_refused_not_ignored():
    config = build("model.fsdp.enabled=true", "train.ema.enabled=true")
    problems = validate_experiment(config, "train", load_plugins())
    assert any(p.startswith("model.fsdp.enabled: FSDP is not implemented") for p in problems)
    assert any(p.startswith("train.ema.enabled") for p in problems)
