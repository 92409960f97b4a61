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


def test_every_seed_option_validates_and_bad_values_name_their_paths():
    seed_options = build(
        "model.fsdp.enabled=true",
        "train.ema.enabled=true",
        "train.damp.enabled=true",
        "train.damp.mode=dynamic",
        "train.spectral_reparam=true",
        "train.load_training_state=true",
        "train.strict_resume=true",
    )
    assert validate_experiment(seed_options, "train", load_plugins()) == []
    config = build(
        "train.ema.enabled=true",
        "train.ema.decay=1.0",
        "train.damp.beta=-0.1",
        "model.fsdp.enabled=true",
        "model.fsdp.shard_size=0",
        "train.callbacks={log_losses: {}}",  # no ema callback left to update the shadow weights
    )
    problems = validate_experiment(config, "train", load_plugins())
    assert "train.ema.decay must be in [0, 1), got 1.0" in problems
    assert any(p.startswith("train.ema.enabled=true needs the ema callback") for p in problems)
    assert "train.damp.beta must be a finite number >= 0, got -0.1" in problems
    assert any(p.startswith("model.fsdp.shard_size must be >= 1") for p in problems)


def test_fsdp_sizes_must_fit_the_processes_asked_for():
    config = build("model.fsdp.enabled=true", "train.num_gpus=4", "model.fsdp.shard_size=3")
    problems = validate_experiment(config, "train", load_plugins())
    assert any("model.fsdp.shard_size=3" in p and "train.num_gpus x train.num_nodes = 4" in p for p in problems)
    fits = build("model.fsdp.enabled=true", "train.num_gpus=4", "model.fsdp.shard_size=2", "model.fsdp.replica_size=2")
    assert validate_experiment(fits, "train", load_plugins()) == []


def test_seed_default_callbacks_and_validation_eval_needs_validation_data():
    config = build()
    assert set(config.train.callbacks) == {
        "wandb",
        "clamp_logit_scale",
        "logit_parameters_monitor",
        "iter_speed",
        "gradient_clip",
        "grad_norm_monitor",
        "spectral_norm_monitor",
        "ema",
        "log_losses",
        "text_frames_visualizer",
        "pca_feature_map_visualizer",
    }
    assert config.train.callbacks["spectral_norm_monitor"] == {"every_n": 1000, "verbose": True}
    assert config.train.load_training_state is False and config.train.strict_resume is False
    no_val = build(
        "dataset.train_dataset.dataset_type=vad_r1",
        "dataset.train_dataset.metadata=/x.json",
        "train.callbacks={validation_eval: {}}",
    )
    problems = validate_experiment(no_val, "train", load_plugins())
    assert any(p.startswith("train.callbacks.validation_eval needs validation data") for p in problems)
    bad = build("train.callbacks={ema: {decay: 0.9}, validation_eval: {top_k_values: [0]}}")
    problems = validate_experiment(bad, "train", load_plugins())
    assert any(p.startswith("train.callbacks.ema: takes no parameters") and "train.ema.decay" in p for p in problems)
    assert any(p.startswith("train.callbacks.validation_eval: top_k_values") for p in problems)


def test_missing_optional_packages_are_named_with_their_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "umap" else real(name, *a))
    problems = validate_experiment(build("evaluate.callbacks.embedding_visualization=true"), "evaluate", load_plugins())
    assert any(
        p.startswith("evaluate.callbacks.embedding_visualization needs umap-learn")
        and "pip install 'cosmos-embed[viz]'" in p
        for p in problems
    )
