"""Optimizers and learning-rate schedules of :class:`~cosmos_core.training.settings.LoopSettings`."""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from torch import nn

from cosmos_core.training.master_weights import with_master_weights
from cosmos_core.training.settings import OptimizerSettings, ScheduleSettings

logger = logging.getLogger("cosmos.train")

SGD_MOMENTUM = 0.9


def parameter_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The optimizer's parameter groups for ``module``.

    A module may define ``optimizer_param_groups(weight_decay) -> list[dict]`` to choose its own
    (per-group learning rates, frozen parts left out). Otherwise every trainable parameter with two
    or more dimensions is decayed and the rest (biases, norm scales, scalars such as a logit scale)
    is not, the usual rule for transformer and CLIP training.
    """
    custom = getattr(module, "optimizer_param_groups", None)
    if callable(custom):
        return list(custom(weight_decay))
    trainable = [p for p in module.parameters() if p.requires_grad]
    decayed = [p for p in trainable if p.dim() >= 2]
    plain = [p for p in trainable if p.dim() < 2]
    groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]


def build_optimizer(module: nn.Module, cfg: OptimizerSettings) -> torch.optim.Optimizer:
    """The optimizer named by ``cfg.name`` over ``module``'s parameter groups.

    ``fused_adamw`` uses AdamW's fused kernel where PyTorch offers it for these parameters and
    otherwise the default implementation, with one warning.
    """
    groups = parameter_groups(module, cfg.weight_decay)
    if not any(group["params"] for group in groups):
        raise ValueError("the model has no trainable parameters; nothing to optimise")
    betas = (float(cfg.betas[0]), float(cfg.betas[1]))
    adam = {"lr": cfg.lr, "betas": betas, "eps": cfg.eps, "weight_decay": cfg.weight_decay}

    def kind(optimizer_class: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
        return with_master_weights(optimizer_class) if cfg.master_weights else optimizer_class

    if cfg.name == "adamw":
        return kind(torch.optim.AdamW)(groups, **adam)
    if cfg.name == "fused_adamw":
        try:
            return kind(torch.optim.AdamW)(groups, **adam, fused=True)
        except (RuntimeError, ValueError) as err:
            logger.warning("optimizer fused_adamw is not available here (%s); using adamw", err)
            return kind(torch.optim.AdamW)(groups, **adam)
    if cfg.name == "adam":
        return kind(torch.optim.Adam)(groups, **adam)
    if cfg.name == "sgd":
        return kind(torch.optim.SGD)(groups, lr=cfg.lr, momentum=SGD_MOMENTUM, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be adamw, fused_adamw, adam or sgd, got {cfg.name!r}")


def lr_factor(step: int, cfg: ScheduleSettings) -> float:
    """The learning-rate multiplier for the optimizer step ``step`` (counted from 0).

    Warm-up rises linearly from ``warmup_start`` to 1 over ``warmup_steps``; then ``cosine`` and
    ``linear`` decay to 0 at step ``decay_steps`` (counted from the start of training, warm-up
    included) and stay there, while ``constant`` stays at 1.
    """
    if step < cfg.warmup_steps:
        return cfg.warmup_start + (1.0 - cfg.warmup_start) * step / cfg.warmup_steps
    if cfg.policy == "constant":
        return 1.0
    span = cfg.decay_steps - cfg.warmup_steps
    progress = min(max((step - cfg.warmup_steps) / span, 0.0), 1.0) if span > 0 else 1.0
    if cfg.policy == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.policy == "linear":
        return 1.0 - progress
    raise ValueError(f"schedule policy must be cosine, linear or constant, got {cfg.policy!r}")


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: ScheduleSettings) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-optimizer-step schedule following :func:`lr_factor`."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, cfg))
