"""Building an experiment's networks, dataset and run seed from its config."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import Any

import torch
from cosmos_core.distributed import gather_objects
from cosmos_core.training.checkpoint import ShardedCheckpointer, read_file
from cosmos_datasets.replacement import ReplaceSkipped

from cosmos_transfer.data.dataset import TransferDataset, modality_for_hint_key
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.model.config import ControlDiTConfig, DiTConfig, preset
from cosmos_transfer.model.networks import TransferNetworks

logger = logging.getLogger("cosmos.transfer")


def network_configs(config: TransferExperiment) -> tuple[DiTConfig, ControlDiTConfig]:
    """The preset's base and control configs with the experiment's channel and block settings."""
    base, control = preset(config.model.net.preset)
    net, ctrl = config.model.net, config.model.net_ctrl
    base = dataclasses.replace(
        base, in_channels=net.in_channels, rope_t_extrapolation_ratio=net.rope_t_extrapolation_ratio
    )
    control = dataclasses.replace(
        control,
        in_channels=ctrl.in_channels,
        hint_channels=ctrl.hint_channels,
        num_control_blocks=ctrl.num_control_blocks,
    )
    return base, control


def build_networks(config: TransferExperiment, *, meta: bool) -> TransferNetworks:
    """Base + control networks (on the meta device when ``meta``), the base frozen unless it is finetuned."""
    with torch.device("meta") if meta else contextlib.nullcontext():
        networks = TransferNetworks(*network_configs(config))
    if not config.model.finetune_base_model:
        networks.freeze_base()
    return networks


def build_dataset(config: TransferExperiment, modalities: Any, seed: int) -> ReplaceSkipped:
    """The training dataset, with unloadable clips replaced by loadable ones (their skips are counted)."""
    data = config.dataloader_train.dataset
    modality = modality_for_hint_key(config.model.hint_key, modalities)
    dataset = TransferDataset(
        data.dataset_dir,
        modality,
        num_frames=data.num_frames,
        resolution=data.resolution,
        skip_missing_files=data.skip_missing_files,
        seed=seed,
    )
    return ReplaceSkipped(dataset)


def run_seed(config: TransferExperiment, checkpointer: ShardedCheckpointer) -> int:
    """``trainer.seed``, or with ``timestamp_seed`` the start time of the job's first run (kept in the
    checkpoints, so a resumed run continues with the same seed); the same on every rank."""
    if not config.trainer.timestamp_seed:
        return config.trainer.seed
    latest = checkpointer.latest()
    if latest is not None:
        stored = (read_file(latest).get("metadata") or {}).get("seed")
        if isinstance(stored, int):
            return stored
    seed = gather_objects(int(time.time() * 1000) % 2**31)[0]  # rank 0's clock
    logger.info("trainer.timestamp_seed: this job's seed is %d", seed)
    return seed


def build_training_module(
    config: TransferExperiment, networks: TransferNetworks, *, materialise: Any = None, inference: bool = False
) -> Any:
    """The experiment's objective around ``networks``; ``inference`` drops every training-time randomness
    (conditioning frames, text and hint dropout) for sampling and evaluation."""
    from cosmos_transfer.training.module import TransferTrainingModule

    model = config.model
    bf16_weights = config.trains_bf16_weights
    return TransferTrainingModule(
        networks,
        hint_key=model.hint_key,
        sigma_data=model.sigma_data,
        loss_add_logvar=model.loss_add_logvar,
        max_condition_frames=0 if inference else model.conditioner.video_cond_bool.first_random_n_num_condition_t_max,
        text_dropout_rate=0.0 if inference else model.conditioner.text_dropout_rate,
        hint_dropout_rate=0.0 if inference else model.hint_dropout_rate,
        materialise=materialise,
        parallel_options={
            "sequence_parallel": config.model_parallel.sequence_parallel,
            "fsdp": model.fsdp_enabled,
            "activation_checkpointing": model.activation_checkpointing,
            # bf16 with master weights: the whole network in bf16 (the reference's way). Under bf16 autocast
            # instead, a frozen base computes in bf16 anyway: hold it in bf16 (half its memory).
            "network_dtype": torch.bfloat16 if bf16_weights else None,
            "frozen_base_dtype": torch.bfloat16
            if model.precision == "bfloat16" and not model.finetune_base_model and not bf16_weights
            else None,
        },
    )
