"""Callbacks specific to Cosmos-Embed1 (registered by :mod:`cosmos_embed.plugin`)."""

from __future__ import annotations

import logging

import torch
from cosmos_core.training.callbacks import Callback

from cosmos_embed.losses import LOGIT_SCALE_MAX

logger = logging.getLogger("cosmos.train")


def _network(trainer):
    return trainer.module.network


class ClampLogitScale(Callback):
    """Keep the learnable log logit scale in [0, ln 100] after every step (CLIP's convention)."""

    def __init__(self, min_value: float = 0.0, max_value: float = LOGIT_SCALE_MAX) -> None:
        if min_value > max_value:
            raise ValueError(f"min_value {min_value} is above max_value {max_value}")
        self.min_value = min_value
        self.max_value = max_value

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        with torch.no_grad():
            _network(trainer).logit_scale.clamp_(self.min_value, self.max_value)


class LogitParametersMonitor(Callback):
    """Log the logit scale (as exp(scale)) and bias every ``every_n`` iterations."""

    def __init__(self, every_n: int = 50) -> None:
        if every_n <= 0:
            raise ValueError(f"every_n must be positive, got {every_n}")
        self.every_n = every_n

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        if iteration % self.every_n or not trainer.is_main:
            return
        net = _network(trainer)
        values = {"logit_scale": net.logit_scale.exp().item(), "logit_bias": net.logit_bias.item()}
        trainer.log_values(values)
        logger.debug("iter %d: logit scale %.4f, bias %.4f", iteration, *values.values())
