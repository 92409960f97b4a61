"""Where Cosmos-Transfer1 runs live and what they need, and the experiment's settings in the loop's terms.

The run folder is the reference's job folder, ``${OUTPUT_ROOT:-checkpoints}/<project>/<group>/<name>/``,
with ``config.yaml`` in it and checkpoints under ``checkpoints/``. Processes come from torchrun (as the
reference: ``torchrun --nproc_per_node=N -m cosmos_core.cli cosmos-transfer1 train ...``); each uses its
GPU when there is one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cosmos_core.family import DeviceRequest, ParallelDims
from cosmos_core.training.settings import LoopSettings, OptimizerSettings, ScheduleSettings

from cosmos_transfer.experiments.config import TransferExperiment

CONFIG_FILE = "config.yaml"
OUTPUT_ROOT_ENV = "OUTPUT_ROOT"
DEFAULT_OUTPUT_ROOT = "checkpoints"

LOOP_SOURCES = {
    "max_iter": "trainer.max_iter",
    "checkpoint_every": "checkpoint.save_iter",
    "grad_accum_steps": "trainer.grad_accum_iter",
    "optimizer.lr": "optimizer.lr",
    "optimizer.weight_decay": "optimizer.weight_decay",
    "optimizer.betas": "optimizer.betas",
    "optimizer.eps": "optimizer.eps",
    "optimizer.master_weights": "optimizer.master_weights",
    "precision": "model.precision",
    "schedule.warmup_steps": "scheduler.warm_up_steps",
    "schedule.decay_steps": "scheduler.cycle_lengths",
}


def job_dir(config: TransferExperiment) -> Path:
    job = config.job
    return Path(os.environ.get(OUTPUT_ROOT_ENV) or DEFAULT_OUTPUT_ROOT) / job.project / job.group / job.name


class TransferRuntime:
    """The :class:`cosmos_core.family.FamilyRuntime` of ``cosmos-transfer1``."""

    config_file = CONFIG_FILE

    def run_dir(self, config: TransferExperiment, action: str) -> Path:
        folder = job_dir(config)
        return folder if action == "train" else folder / action

    def devices(self, config: TransferExperiment, action: str) -> DeviceRequest:
        import torch

        return DeviceRequest(num_gpus=1 if torch.cuda.is_available() else 0)

    def parallel(self, config: TransferExperiment, action: str) -> ParallelDims:
        if action != "train":
            return ParallelDims()
        return ParallelDims(
            tp=config.model_parallel.tensor_model_parallel_size,
            sources={"tp": "model_parallel.tensor_model_parallel_size"},
        )


RUNTIME = TransferRuntime()


def loop_precision(config: TransferExperiment) -> str:
    """``bf16_weights`` when the networks hold bf16 weights themselves (see ``optimizer.master_weights``),
    ``bf16`` autocast over fp32 weights, or ``fp32``."""
    if config.trains_bf16_weights:
        return "bf16_weights"
    return "bf16" if config.model.precision == "bfloat16" else "fp32"


def loop_settings(config: TransferExperiment, seed: int, resume_from: str | None = None) -> LoopSettings:
    """The experiment in the loop's terms; ``seed`` is the run's (``trainer.seed`` or a timestamp seed)."""
    optimizer, scheduler = config.optimizer, config.scheduler
    return LoopSettings(
        max_iter=config.trainer.max_iter,
        checkpoint_every=config.checkpoint.save_iter,
        seed=seed,
        validation_every=config.trainer.max_iter,  # the reference trains without validation
        grad_accum_steps=config.trainer.grad_accum_iter,
        precision=loop_precision(config),
        resume_from=resume_from,
        auto_resume=True,
        optimizer=OptimizerSettings(
            name="fused_adamw",
            lr=optimizer.lr,
            weight_decay=optimizer.weight_decay,
            betas=(float(optimizer.betas[0]), float(optimizer.betas[1])) if len(optimizer.betas) == 2 else (0, 0),
            eps=optimizer.eps,
            master_weights=config.trains_bf16_weights,
        ),
        schedule=ScheduleSettings(
            warmup_steps=scheduler.warm_up_steps[0] if scheduler.warm_up_steps else 0,
            policy="constant",
            warmup_start=scheduler.f_start[0] if scheduler.f_start else 0.0,
        ),
        sources=LOOP_SOURCES,
    )
