"""Where Cosmos-Embed1 runs live and what they need: ``<results_dir>/<action>/``, devices, loop settings."""

from __future__ import annotations

import os
from pathlib import Path

from cosmos_core.family import DeviceRequest, ParallelDims
from cosmos_core.training.settings import LoopSettings, OptimizerSettings, ScheduleSettings

from cosmos_embed.config import Embed1TrainConfig, ExperimentConfig, FSDPConfig

CONFIG_FILE = "experiment.yaml"

LOOP_SOURCES = {
    "max_iter": "train.max_iter",
    "checkpoint_every": "train.checkpoint_iter",
    "validation_every": "train.validation_iter",
    "grad_accum_steps": "train.grad_accum_steps",
    "clip_grad_norm": "train.clip_grad_norm",
    "max_val_batches": "train.max_val_batches",
    "optimizer.lr": "train.optim.lr",
    "optimizer.weight_decay": "train.optim.weight_decay",
    "optimizer.betas": "train.optim.betas",
    "schedule.warmup_steps": "train.optim.warmup_steps",
    "schedule.decay_steps": "train.optim.lr_decay_iters",
}
"""Each loop setting's TAO config path, so the loop's messages name what the user wrote."""

FSDP_SOURCES = {"dp_shard": "model.fsdp.shard_size", "dp_replicate": "model.fsdp.replica_size"}


class Embed1Runtime:
    """The :class:`cosmos_core.family.FamilyRuntime` of ``cosmos-embed1``."""

    config_file = CONFIG_FILE

    def run_dir(self, config: ExperimentConfig, action: str) -> Path:
        return Path(config.results_dir) / action

    def devices(self, config: ExperimentConfig, action: str) -> DeviceRequest:
        if action == "train":
            train = config.train
            return DeviceRequest(train.num_gpus, train.num_nodes, tuple(train.gpu_ids), "train.num_gpus")
        if action in ("evaluate", "inference"):
            # N > 1 re-launches under torchrun: each rank encodes its share of the corpus.
            return DeviceRequest(getattr(config, action).num_gpus, setting=f"{action}.num_gpus")
        return DeviceRequest(0)

    def parallel(self, config: ExperimentConfig, action: str) -> ParallelDims:
        if action == "train" and config.model.fsdp.enabled:
            return fsdp_dims(config.model.fsdp)
        return ParallelDims()


def fsdp_dims(fsdp: FSDPConfig) -> ParallelDims:
    """``model.fsdp`` as mesh sizes: parameters sharded over ``dp_shard`` ranks, ``dp_replicate`` copies.

    An unset shard size shards over the processes of one node (torchrun's ``LOCAL_WORLD_SIZE``), an
    unset replica size takes what the world size leaves; both set > 1 is HSDP. A single process (a GPU
    spec run on a CPU machine, or one GPU) has nothing to shard: plain single-process training.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return ParallelDims()
    shard = fsdp.shard_size
    if shard is None:
        shard = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    replica = -1 if fsdp.replica_size is None else fsdp.replica_size
    return ParallelDims(dp_replicate=replica, dp_shard=shard, sources=FSDP_SOURCES)


RUNTIME = Embed1Runtime()


def loop_settings(train: Embed1TrainConfig) -> LoopSettings:
    """The TAO ``train`` section in the loop's terms."""
    optim = train.optim
    return LoopSettings(
        max_iter=train.max_iter,
        checkpoint_every=train.checkpoint_iter,
        seed=train.seed,
        validation_every=train.validation_iter,
        grad_accum_steps=train.grad_accum_steps,
        clip_grad_norm=train.clip_grad_norm,
        precision=train.precision,
        max_val_batches=train.max_val_batches,
        resume_from=train.resume_training_checkpoint_path,
        optimizer=OptimizerSettings(
            name=optim.optim, lr=optim.lr, weight_decay=optim.weight_decay, betas=tuple(optim.betas)
        ),
        schedule=ScheduleSettings(
            warmup_steps=optim.warmup_steps, policy=optim.policy, decay_steps=optim.lr_decay_iters
        ),
        sources=LOOP_SOURCES,
    )


def device_problems(train: Embed1TrainConfig) -> list[str]:
    problems = []
    if train.num_nodes <= 0:
        problems.append(f"train.num_nodes must be > 0, got {train.num_nodes}")
    if train.num_gpus < -1:
        problems.append(f"train.num_gpus must be -1 (all), 0 (CPU) or a GPU count, got {train.num_gpus}")
    return problems
