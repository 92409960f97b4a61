"""Cross-field rules of a Cosmos-Embed1 experiment, checked before any work starts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from cosmos_core.config.loader import ConfigError
from cosmos_core.plugins import PluginHost
from cosmos_core.training.callbacks import build_callbacks
from cosmos_datasets.selection import dataset_problems

from cosmos_embed.config import ExperimentConfig
from cosmos_embed.optional import missing
from cosmos_embed.runtime import device_problems, loop_settings

VISUALIZERS = ("text_frames_visualizer", "pca_feature_map_visualizer")
VIZ_MODULES = ("umap", "matplotlib")

DATASETS_BY_ACTION = {
    "train": ("train_dataset", "val_dataset"),
    "evaluate": ("test_dataset",),
    "inference": ("inference_dataset",),
}


def validate_experiment(config: ExperimentConfig, action: str, host: PluginHost) -> list[str]:
    """Every problem of ``config`` for ``action``, each naming its config path and what to do."""
    problems = _network_problems(config)
    for split in DATASETS_BY_ACTION.get(action, ()):
        if split == "val_dataset" and not has_validation_data(config):
            continue  # no validation set configured: training runs without validation (and says so)
        if split == "inference_dataset" and config.inference.index:
            continue  # inference.index: the queries search the index, the dataset is not read
        problems += dataset_problems(getattr(config.dataset, split), f"dataset.{split}", host.datasets)
    if action == "train":
        problems += loop_settings(config.train).problems() + device_problems(config.train)
        resume = config.train.resume_training_checkpoint_path
        if resume and not Path(resume).expanduser().is_file():
            problems.append(
                f"train.resume_training_checkpoint_path: {resume}: no such file; give a checkpoint written by "
                "'cosmos-run cosmos-embed1 train' (<results_dir>/train/cosmos_embed1_model_latest.pth)"
            )
        problems += _callback_problems(config, host)
        problems += _training_feature_problems(config)
    if action == "evaluate":
        cached = config.evaluate.load_dataset_pkl and Path(config.evaluate.load_dataset_pkl).is_file()
        if not config.evaluate.checkpoint and not cached:
            problems.append(
                "evaluate.checkpoint is required (a checkpoint from cosmos-run cosmos-embed1 train), "
                "unless evaluate.load_dataset_pkl names an existing embedding cache"
            )
        if any(k <= 0 for k in config.evaluate.callbacks.top_k_values):
            problems.append("evaluate.callbacks.top_k_values must all be positive")
        cap = config.evaluate.callbacks.max_eval_samples
        if cap <= 0:
            problems.append(f"evaluate.callbacks.max_eval_samples must be positive, got {cap}")
        if config.evaluate.callbacks.embedding_visualization:
            problems += _present(missing(VIZ_MODULES, "evaluate.callbacks.embedding_visualization"))
    if action in ("evaluate", "inference") and getattr(config, action).num_gpus < -1:
        problems.append(
            f"{action}.num_gpus must be -1 (all), 0 (CPU) or a GPU count, got {getattr(config, action).num_gpus}"
        )
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
        problems += [
            f"inference.query.input_videos[{i}]: {video}: no such file"
            for i, video in enumerate(config.inference.query.input_videos)
            if not Path(video).expanduser().is_file()
        ]
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


def has_validation_data(config: ExperimentConfig) -> bool:
    """Validate on val_dataset when it points at data (metadata, a glob or a data_root), or when both
    splits are synthetic ``mock`` data; setting those to null turns validation off."""
    val, train = config.dataset.val_dataset, config.dataset.train_dataset
    return bool(val.metadata or val.mp4_urls or val.data_root) or val.dataset_type == train.dataset_type == "mock"


def _present(problem: str | None) -> list[str]:
    return [problem] if problem else []


def _training_feature_problems(config: ExperimentConfig) -> list[str]:
    """EMA, DAMP, FSDP and the callbacks that need data or optional packages."""
    train, callbacks = config.train, config.train.callbacks
    problems = []
    if not 0.0 <= train.ema.decay < 1.0:
        problems.append(f"train.ema.decay must be in [0, 1), got {train.ema.decay}")
    if train.ema.enabled and "ema" not in callbacks:
        problems.append(
            "train.ema.enabled=true needs the ema callback, which updates the shadow weights: add "
            "train.callbacks.ema={} (or set train.ema.enabled=false)"
        )
    if not (math.isfinite(train.damp.beta) and train.damp.beta >= 0):
        problems.append(f"train.damp.beta must be a finite number >= 0, got {train.damp.beta}")
    fsdp = config.model.fsdp
    for name in ("shard_size", "replica_size"):
        value = getattr(fsdp, name)
        if value is not None and value < 1:
            problems.append(f"model.fsdp.{name} must be >= 1 (or null to choose it), got {value}")
    if fsdp.enabled and train.num_gpus > 0 and not problems:
        world = train.num_gpus * train.num_nodes
        shard = fsdp.shard_size or train.num_gpus
        replica = fsdp.replica_size or max(world // shard, 1)
        if shard * replica != world:
            problems.append(
                f"model.fsdp.shard_size={shard} x model.fsdp.replica_size={replica} = {shard * replica} processes, "
                f"but train.num_gpus x train.num_nodes = {world}: make them equal (or leave one size null)"
            )
    if "validation_eval" in callbacks and not has_validation_data(config):
        problems.append(
            "train.callbacks.validation_eval needs validation data: set dataset.val_dataset.metadata "
            "(and data_root), or remove the callback"
        )
    for name in VISUALIZERS:
        if name in callbacks:
            problems += _present(missing(("PIL",), f"train.callbacks.{name}"))
    params = callbacks.get("validation_eval")
    if isinstance(params, Mapping) and params.get("embedding_visualization"):
        problems += _present(missing(VIZ_MODULES, "train.callbacks.validation_eval.embedding_visualization"))
    return problems
