"""Callbacks specific to Cosmos-Embed1 (registered by :mod:`cosmos_embed.plugin`).

The visualizers live in :mod:`cosmos_embed.visualizers`, ``validation_eval`` in
:mod:`cosmos_embed.validation_eval`.
"""

from __future__ import annotations

import logging

import torch
from cosmos_core.training.callbacks import Callback

from cosmos_embed.ema import EMAWeights
from cosmos_embed.losses import LOGIT_SCALE_MAX
from cosmos_embed.model.damp import DampNoise, damp_std

logger = logging.getLogger("cosmos.train")


def _network(trainer):
    return trainer.module.network


def check_every_n(every_n: int) -> int:
    if isinstance(every_n, bool) or not isinstance(every_n, int) or every_n < 1:
        raise ValueError(f"every_n must be a positive integer, got {every_n!r}")
    return every_n


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


class EMAUpdate(Callback):
    """The ``ema`` callback: moves the :class:`~cosmos_embed.ema.EMAWeights` after every optimizer step.

    Its state (the shadows) is checkpointed under ``callbacks["ema"]`` and restored on resume.
    """

    def __init__(self, weights: EMAWeights) -> None:
        self.weights = weights

    def on_train_start(self, trainer) -> None:
        self.weights.attach(_network(trainer))
        if trainer.is_main:
            logger.info(
                "EMA of %d trainable tensors, decay %g (%d updates so far)",
                len(self.weights.shadow),
                self.weights.decay,
                self.weights.updates,
            )

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        self.weights.update()

    def state_dict(self):
        return self.weights.state_dict()

    def load_state_dict(self, state) -> None:
        self.weights.load_state_dict(state)


class SpectralNormMonitor(Callback):
    """Log the spectral norm (largest singular value) of every trainable weight matrix every ``every_n``
    iterations: of the weight each layer applies (``γ/σ(W)·W`` under σReparam, without DAMP noise).

    Logs ``spectral_norm/max`` and ``spectral_norm/mean`` (and ``spectral_norm/<layer>`` per matrix
    with ``verbose``); sharded weights are gathered first, so every rank must run it (they all do).
    """

    def __init__(self, every_n: int = 1000, verbose: bool = True) -> None:
        self.every_n = check_every_n(every_n)
        self.verbose = bool(verbose)

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        if iteration % self.every_n:
            return
        from cosmos_embed.spectral_norms import spectral_norms

        norms = spectral_norms(_network(trainer))
        if not norms:
            return
        largest = max(norms, key=norms.get)
        values = {"spectral_norm/max": norms[largest], "spectral_norm/mean": sum(norms.values()) / len(norms)}
        if self.verbose:
            values |= {f"spectral_norm/{name}": value for name, value in norms.items()}
        trainer.log_values(values)
        if not trainer.is_main:
            return
        logger.info(
            "iter %d: spectral norms of %d weight matrices: max %.4g (%s), mean %.4g",
            iteration,
            len(norms),
            norms[largest],
            largest,
            values["spectral_norm/mean"],
        )
        if self.verbose:
            for name, value in norms.items():
                logger.info("iter %d: spectral norm %-60s %.4g", iteration, name, value)


class DampSchedule(Callback):
    """Sets the DAMP noise level before every step (added by the train task for ``train.damp.mode=dynamic``):
    ``train.damp.beta`` times the scheduler's current learning rate over its peak."""

    name = "damp_schedule"

    def __init__(self, noise: DampNoise, beta: float) -> None:
        self.noise = noise
        self.beta = beta

    def _set(self, trainer) -> None:
        scheduler = trainer.scheduler
        peak = scheduler.base_lrs[0]
        ratio = scheduler.get_last_lr()[0] / peak if peak > 0 else 0.0
        self.noise.std = damp_std(self.beta, "dynamic", ratio)

    def on_train_start(self, trainer) -> None:
        self._set(trainer)

    def on_train_step_end(self, trainer, iteration, losses) -> None:
        self._set(trainer)
