"""Config sections every model family shares: Weights and Biases, optimizer, the training loop.

Field names and defaults follow the Cosmos-Embed1 TAO experiment schema (the seed document), which
users already know. A model family extends :class:`TrainConfig` with its own training fields.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from cosmos_core.config.schema import option

Precision = Literal["bf16", "fp16", "fp32"]
OptimizerType = Literal["adamw", "fused_adamw", "adam", "sgd"]
LRPolicy = Literal["cosine", "linear", "constant"]


@attrs.frozen
class WandbConfig:
    enable: bool = option(False, help="Enable Weights and Biases logging.")
    project: str = option("cosmos_embed1", help="Weights and Biases project name.")
    group: str = option("", help="Run group for organizing related runs in the dashboard.")
    name: str = option("", help="Run name. Empty string auto-generates a name.")
    tags: list[str] = option(help="List of tags for filtering runs in the dashboard.", factory=list)
    save_code: bool = option(False, help="Save a copy of the training code to Weights and Biases.")
    api_key: str = option("", help="API key. If empty, falls back to the WANDB_API_KEY env var.", secret=True)


@attrs.frozen
class OptimConfig:
    optim: OptimizerType = option("adamw", help="Optimizer type: adamw, fused_adamw, adam or sgd.")
    lr: float = option(1e-5, help="Learning rate.")
    weight_decay: float = option(1e-5, help="Weight decay coefficient.")
    betas: list[float] = option(help="Adam and AdamW beta coefficients.", factory=lambda: [0.9, 0.98])
    warmup_steps: int = option(1000, help="Number of warmup steps for the learning rate scheduler.")
    policy: LRPolicy = option("cosine", help="Learning rate schedule policy: cosine, linear or constant.")
    lr_decay_iters: int = option(
        50000, help="Number of iterations over which to decay the learning rate (cosine and linear)."
    )


def default_callbacks() -> dict[str, Any]:
    """The generic part of the seed's default callback set; families add their own."""
    return {
        "wandb": {},
        "iter_speed": {"every_n": 50, "save_s3": False},
        "gradient_clip": {"clip_norm": 3.0},
        "grad_norm_monitor": {"every_n": 500, "verbose": False},
        "log_losses": {"every_n": 50, "verbose": True},
    }


@attrs.frozen
class TrainConfig:
    optim: OptimConfig = option(help="Optimizer configuration.", factory=OptimConfig)
    seed: int = option(1234, help="Random seed for reproducibility.")
    max_iter: int = option(50000, help="Maximum number of training iterations.")
    num_nodes: int = option(1, help="Number of nodes for distributed training.")
    num_gpus: int = option(1, help="Number of GPUs per node. Use -1 to auto-detect all available GPUs, 0 for CPU only.")
    gpu_ids: list[int] = option(
        help="List of GPU device IDs to use. Overrides num_gpus for device selection.",
        factory=lambda: [0],
    )
    validation_iter: int = option(1000, help="Frequency of validation runs, in iterations.")
    checkpoint_iter: int = option(1000, help="Frequency of checkpoint saves, in iterations.")
    clip_grad_norm: float = option(0.0, help="Gradient clipping norm. Set to 0.0 to disable gradient clipping.")
    precision: Precision = option("bf16", help="Training precision: bf16, fp16 or fp32.")
    resume_training_checkpoint_path: str | None = option(
        None,
        help="Path to a checkpoint to resume training from (model, optimizer, scheduler, "
        "iteration, RNG and data position are restored).",
    )
    callbacks: dict[str, Any] = option(
        help="Dict mapping callback name to parameter overrides. Remove a key to disable a callback.",
        factory=default_callbacks,
    )
    max_val_batches: int | None = option(
        None, help="Maximum number of validation batches per GPU. None runs the full validation set."
    )
    grad_accum_steps: int = option(
        1, help="Micro-batches accumulated per optimizer step (our extension; 1 = no accumulation)."
    )
