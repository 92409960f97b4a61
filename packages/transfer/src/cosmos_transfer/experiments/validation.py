"""Cross-field rules of a Cosmos-Transfer1 experiment, checked before any work starts."""

from __future__ import annotations

from typing import Any

from cosmos_core.config.loader import ConfigError
from cosmos_core.training.callbacks import build_callbacks

from cosmos_transfer.experiments.config import TransferExperiment

TRAINING_ACTIONS = ("train", "summary", "generate")


def validate_experiment(config: TransferExperiment, action: str, host: Any) -> list[str]:
    """Every problem of ``config`` for ``action``, each naming its config path and what to do."""
    problems: list[str] = []
    model = config.model
    if action in TRAINING_ACTIONS and model.n_views != 1:
        problems.append(
            f"model.n_views={model.n_views}: multi-view (sv2mv) networks are not implemented in cosmos-run; "
            "this experiment can only be dry-run (--dryrun)"
        )
    if config.model_parallel.context_parallel_size != 1:
        problems.append("model_parallel.context_parallel_size: only 1 is supported")
    problems += _parallel_problems(config)
    modality = model.hint_key.removeprefix("control_input_")
    if modality not in host.registries["control_modalities"]:
        problems.append(f"model.hint_key: {host.registries['control_modalities'].unknown_message(modality)}")
    frames = config.dataloader_train.dataset.num_frames
    if frames < 1 or (frames - 1) % 8:
        problems.append(f"dataloader_train.dataset.num_frames must be 1 + 8k (the tokenizer's 8x time), got {frames}")
    from cosmos_transfer.data.geometry import RESOLUTIONS

    if config.dataloader_train.dataset.resolution not in RESOLUTIONS:
        problems.append(
            f"dataloader_train.dataset.resolution must be one of {', '.join(RESOLUTIONS)}, "
            f"got {config.dataloader_train.dataset.resolution!r}"
        )
    if action == "train":
        problems += _train_problems(config, host)
    if action == "generate":
        problems += _generate_problems(config)
    return problems


def _generate_problems(config: TransferExperiment) -> list[str]:
    settings = config.generate
    problems = []
    if not settings.input_video:
        problems.append("generate.input_video is required: the video whose control input guides the result")
    if not settings.prompt and not settings.t5_pickle:
        problems.append("generate.prompt (with generate.t5_model) or generate.t5_pickle is required: the caption")
    if settings.num_steps < 1:
        problems.append(f"generate.num_steps must be >= 1, got {settings.num_steps}")
    return problems


def _parallel_problems(config: TransferExperiment) -> list[str]:
    from cosmos_transfer.training.build import network_configs

    tp = config.model_parallel.tensor_model_parallel_size
    try:
        base, control = network_configs(config)
    except ValueError as err:
        return [f"model.net / model.net_ctrl: {err}"]
    if tp < 1 or base.num_heads % tp:
        return [
            f"model_parallel.tensor_model_parallel_size={tp} must divide the {base.num_heads} attention heads "
            f"of the {config.model.net.preset} network"
        ]
    return []


def _train_problems(config: TransferExperiment, host: Any) -> list[str]:
    from cosmos_transfer.runtime import loop_settings

    problems = loop_settings(config, seed=config.trainer.seed).problems()
    scheduler = config.scheduler
    lengths = {
        len(getattr(scheduler, name)) for name in ("warm_up_steps", "f_start", "f_max", "f_min", "cycle_lengths")
    }
    if lengths != {1}:
        problems.append("scheduler: warm_up_steps, f_start, f_max, f_min and cycle_lengths hold one cycle each")
    elif scheduler.f_max[0] != 1.0 or scheduler.f_min[0] != 1.0:
        problems.append(
            "scheduler.f_max and scheduler.f_min: only the 7B experiments' schedule (warm-up to 1.0, then "
            "constant) is implemented; set both to [1.0]"
        )
    if not config.model.base_load_from and config.model.net.preset == "7b" and not config.model.finetune_base_model:
        problems.append(
            "model.base_load_from is empty: a frozen 7B base needs the released weights (base_model.pt, or its "
            "TP split checkpoints_tp/base_model_model_mp_*.pt)"
        )
    if config.dataloader_train.batch_size < 1 or config.dataloader_train.num_workers < 0:
        problems.append("dataloader_train.batch_size must be >= 1 and num_workers >= 0")
    try:
        build_callbacks(config.trainer.callbacks, host.callbacks, config_path="trainer.callbacks")
    except ConfigError as err:
        problems += err.problems
    except Exception as err:  # an unknown callback name (RegistryError)
        problems.append(str(err))
    return problems
