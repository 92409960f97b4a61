"""Checks of a :class:`TrainConfig` that types alone cannot express, run before any work starts."""

from __future__ import annotations

from cosmos_core.config.common import TrainConfig


def validate_train_config(cfg: TrainConfig, prefix: str = "train") -> list[str]:
    """Every problem with ``cfg``, each naming its config path (empty when the config is usable)."""
    problems: list[str] = []

    def positive(name: str, value: int) -> None:
        if value <= 0:
            problems.append(f"{prefix}.{name} must be > 0, got {value}")

    positive("max_iter", cfg.max_iter)
    positive("checkpoint_iter", cfg.checkpoint_iter)
    positive("validation_iter", cfg.validation_iter)
    positive("num_nodes", cfg.num_nodes)
    if cfg.grad_accum_steps < 1:
        problems.append(f"{prefix}.grad_accum_steps must be >= 1, got {cfg.grad_accum_steps}")
    if cfg.num_gpus < -1:
        problems.append(f"{prefix}.num_gpus must be -1 (all), 0 (CPU) or a GPU count, got {cfg.num_gpus}")
    if cfg.clip_grad_norm < 0:
        problems.append(f"{prefix}.clip_grad_norm must be >= 0 (0 disables it), got {cfg.clip_grad_norm}")
    if cfg.max_val_batches is not None and cfg.max_val_batches <= 0:
        problems.append(
            f"{prefix}.max_val_batches must be > 0, or null for the whole validation set, got {cfg.max_val_batches}"
        )

    optim = cfg.optim
    if optim.lr < 0:
        problems.append(f"{prefix}.optim.lr must be >= 0, got {optim.lr}")
    if optim.weight_decay < 0:
        problems.append(f"{prefix}.optim.weight_decay must be >= 0, got {optim.weight_decay}")
    if len(optim.betas) != 2 or not all(0.0 <= beta < 1.0 for beta in optim.betas):
        problems.append(f"{prefix}.optim.betas must be two numbers in [0, 1), got {optim.betas}")
    if optim.warmup_steps < 0:
        problems.append(f"{prefix}.optim.warmup_steps must be >= 0, got {optim.warmup_steps}")
    if optim.policy in ("cosine", "linear") and optim.lr_decay_iters <= optim.warmup_steps:
        problems.append(
            f"{prefix}.optim.lr_decay_iters ({optim.lr_decay_iters}) must be greater than "
            f"{prefix}.optim.warmup_steps ({optim.warmup_steps}) for the {optim.policy} policy: decay "
            f"runs from the end of warm-up to lr_decay_iters; raise lr_decay_iters, lower warmup_steps, "
            f"or use policy=constant"
        )
    return problems
