"""Cross-field rules of a Cosmos-Embed1 experiment, checked before any work starts."""

from __future__ import annotations

from pathlib import Path

from cosmos_core.config.loader import ConfigError
from cosmos_core.plugins import PluginHost
from cosmos_core.training.callbacks import build_callbacks
from cosmos_datasets.selection import dataset_problems

from cosmos_embed.config import ExperimentConfig
from cosmos_embed.runtime import device_problems, loop_settings

DATASETS_BY_ACTION = {
    "train": ("train_dataset", "val_dataset"),
    "evaluate": ("test_dataset",),
    "inference": ("inference_dataset",),
}


def validate_experiment(config: ExperimentConfig, action: str, host: PluginHost) -> list[str]:
    """Every problem of ``config`` for ``action``, each naming its config path and what to do."""
    problems = _network_problems(config)
    for split in DATASETS_BY_ACTION.get(action, ()):
        problems += dataset_problems(getattr(config.dataset, split), f"dataset.{split}", host.datasets)
    if action == "train":
        problems += loop_settings(config.train).problems() + device_problems(config.train)
        problems += _callback_problems(config, host)
        problems += _unsupported_training_features(config)
    if action == "evaluate":
        cached = config.evaluate.load_dataset_pkl and Path(config.evaluate.load_dataset_pkl).is_file()
        if not config.evaluate.checkpoint and not cached:
            problems.append(
                "evaluate.checkpoint is required (a checkpoint from cosmos-run cosmos-embed1 train), "
                "unless evaluate.load_dataset_pkl names an existing embedding cache"
            )
        if any(k <= 0 for k in config.evaluate.callbacks.top_k_values):
            problems.append("evaluate.callbacks.top_k_values must all be positive")
    if action == "inference":
        if not config.inference.checkpoint:
            problems.append("inference.checkpoint is required to encode the queries")
        if not config.inference.query.input_texts and not config.inference.query.input_videos:
            problems.append(
                "inference.query has no queries: set inference.query.input_texts='[\"a car crash\"]' "
                "and/or inference.query.input_videos='[\"/path/clip.mp4\"]'"
            )
        if config.inference.k <= 0:
            problems.append(f"inference.k must be positive, got {config.inference.k}")
    if action == "export":
        from cosmos_embed.export_inputs import export_problems

        problems += export_problems(config, host)
    return problems


def _network_problems(config: ExperimentConfig) -> list[str]:
    from cosmos_embed.model.lora import validate_network_config

    return validate_network_config(config.model.network, config.model.lora)


def _callback_problems(config: ExperimentConfig, host: PluginHost) -> list[str]:
    """Unknown callback names, else parameters the callbacks reject (built once here to find out)."""
    unknown = [
        f"train.callbacks.{name}: {host.callbacks.unknown_message(name)}"
        for name in config.train.callbacks
        if name not in host.callbacks
    ]
    if unknown:
        return unknown
    try:
        build_callbacks(config.train.callbacks, host.callbacks)
    except ConfigError as err:
        return err.problems
    return []


def _unsupported_training_features(config: ExperimentConfig) -> list[str]:
    """Options cosmos-run does not implement yet; refusing them beats silently ignoring them."""
    problems = []
    if config.model.fsdp.enabled:
        problems.append(
            "model.fsdp.enabled: FSDP is not implemented in cosmos-run yet; set it to false "
            "(multi-GPU training uses DDP through train.num_gpus)"
        )
    if config.train.ema.enabled:
        problems.append("train.ema.enabled: EMA training is not implemented in cosmos-run yet; set it to false")
    if config.train.damp.enabled:
        problems.append("train.damp.enabled: DAMP is not implemented in cosmos-run (its algorithm is not public)")
    if config.train.spectral_reparam:
        problems.append(
            "train.spectral_reparam: spectral reparameterization is not implemented in cosmos-run; set it to false"
        )
    return problems
