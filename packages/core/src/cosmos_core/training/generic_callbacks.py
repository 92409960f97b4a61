"""The model-agnostic callbacks of the seed's default set: speed, losses, gradient clipping and norms.

Defaults follow the Cosmos-Embed1 TAO documentation (``iter_speed: every_n 50``, ``gradient_clip:
clip_norm 3.0``, ``grad_norm_monitor: every_n 500``, ``log_losses: every_n 50``).
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import TYPE_CHECKING

from cosmos_core.training.callbacks import Callback
from cosmos_core.training.grad_norm import squared_norms

if TYPE_CHECKING:
    from pathlib import Path

    from cosmos_core.training.callbacks import TrainerView as Trainer

logger = logging.getLogger("cosmos.train")


def _check_every_n(every_n: int) -> int:
    if isinstance(every_n, bool) or not isinstance(every_n, int) or every_n < 1:
        raise ValueError(f"every_n must be a positive integer, got {every_n!r}")
    return every_n


def _format_duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(max(seconds, 0.0))))


class IterSpeed(Callback):
    """Logs iterations and samples per second every ``every_n`` iterations.

    The window excludes time spent in validation and checkpointing. Samples per second counts the
    nominal global batch (batch size x accumulation steps x ranks). ``save_s3`` (uploading timings
    to S3 in NVIDIA's tool) is not supported and is ignored with a warning.
    """

    def __init__(self, every_n: int = 50, save_s3: bool = False) -> None:
        self.every_n = _check_every_n(every_n)
        if save_s3:
            logger.warning("iter_speed.save_s3 is not supported by cosmos-run (no S3 upload); ignored")
        self._mark_time = 0.0
        self._mark_iteration = 0

    def _reset(self, iteration: int) -> None:
        self._mark_time, self._mark_iteration = time.perf_counter(), iteration

    def on_train_start(self, trainer: Trainer) -> None:
        self._reset(trainer.iteration)

    def on_train_step_end(self, trainer: Trainer, iteration: int, losses: dict[str, float]) -> None:
        if iteration % self.every_n:
            return
        elapsed = time.perf_counter() - self._mark_time
        steps = iteration - self._mark_iteration
        if steps <= 0 or elapsed <= 0:
            return
        it_per_s = steps / elapsed
        samples_per_s = it_per_s * trainer.samples_per_iteration
        if trainer.is_main:
            logger.info("iter %d: %.3f it/s, %.1f samples/s", iteration, it_per_s, samples_per_s)
        trainer.log_values({"speed/it_per_s": it_per_s, "speed/samples_per_s": samples_per_s})
        self._reset(iteration)

    def on_validation_end(self, trainer: Trainer, iteration: int, metrics: dict[str, float]) -> None:
        self._reset(iteration)

    def on_save_checkpoint(self, trainer: Trainer, iteration: int, path: Path) -> None:
        self._reset(iteration)


class StopAfter(Callback):
    """Ends training cleanly, with a checkpoint, after ``iteration`` iterations or ``minutes`` of training
    (a scheduler's time limit minus the time a save takes); rerunning the command continues the run.

    Either limit may be left out (None); the minutes count from the start of this process's training.
    """

    def __init__(self, iteration: int | None = None, minutes: float | None = None) -> None:
        if iteration is None and minutes is None:
            raise ValueError("give iteration, minutes or both")
        if iteration is not None and (isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 1):
            raise ValueError(f"iteration must be a positive integer, got {iteration!r}")
        if minutes is not None and not minutes > 0:
            raise ValueError(f"minutes must be > 0, got {minutes!r}")
        self.iteration = iteration
        self.minutes = minutes
        self._started = 0.0

    def on_train_start(self, trainer: Trainer) -> None:
        self._started = time.monotonic()

    def on_train_step_end(self, trainer: Trainer, iteration: int, losses: dict[str, float]) -> None:
        if self.iteration is not None and iteration >= self.iteration:
            trainer.request_stop(f"stop_after.iteration={self.iteration}")
        elif self.minutes is not None and time.monotonic() - self._started >= 60 * self.minutes:
            trainer.request_stop(f"stop_after.minutes={self.minutes}")


class GradientClip(Callback):
    """Clips the gradients of all trainable parameters to a total L2 norm of ``clip_norm``.

    It clips through the trainer (:meth:`TrainerView.clip_gradients`), the same tensor-parallel aware
    path as the loop's own ``clip_grad_norm`` setting, at its place in the callback order.
    """

    def __init__(self, clip_norm: float = 3.0) -> None:
        if not clip_norm > 0:
            raise ValueError(f"clip_norm must be > 0, got {clip_norm!r}")
        self.clip_norm = float(clip_norm)

    def on_before_optimizer_step(self, trainer: Trainer, iteration: int) -> None:
        trainer.clip_gradients(self.clip_norm)


class GradNormMonitor(Callback):
    """Logs the total gradient norm every ``every_n`` iterations (each parameter's too if ``verbose``).

    Norms are of the whole gradients, reduced across tensor-parallel and sharded ranks (every rank
    computes the same values). It sees the gradients as left by the callbacks before it in the
    config: list it before ``gradient_clip`` to monitor norms before clipping.
    """

    def __init__(self, every_n: int = 500, verbose: bool = False) -> None:
        self.every_n = _check_every_n(every_n)
        self.verbose = bool(verbose)

    def on_before_optimizer_step(self, trainer: Trainer, iteration: int) -> None:
        if iteration % self.every_n:
            return
        named = [(name, p.grad) for name, p in trainer.named_trainable_parameters() if p.grad is not None]
        if not named:
            return
        squares = squared_norms([grad for _, grad in named])
        norms = squares.sqrt()
        total = float(squares.sum().sqrt())
        trainer.log_values({"grad_norm/total": total})
        if not trainer.is_main:
            return
        logger.info("iter %d: gradient norm %.4g", iteration, total)
        if self.verbose:
            for (name, _), norm in zip(named, norms.tolist(), strict=True):
                logger.info("iter %d: gradient norm %-60s %.4g", iteration, name, norm)


class LogLosses(Callback):
    """Every ``every_n`` iterations, logs each loss (averaged over the window), the LR and the ETA.

    With ``verbose: false`` the line goes to ``debug.log`` only.
    """

    def __init__(self, every_n: int = 50, verbose: bool = True) -> None:
        self.every_n = _check_every_n(every_n)
        self.level = logging.INFO if verbose else logging.DEBUG
        self._sums: dict[str, float] = {}
        self._count = 0
        self._start_time = 0.0
        self._start_iteration = 0

    def on_train_start(self, trainer: Trainer) -> None:
        self._start_time, self._start_iteration = time.perf_counter(), trainer.iteration

    def on_train_step_end(self, trainer: Trainer, iteration: int, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self._sums[name] = self._sums.get(name, 0.0) + value
        self._count += 1
        if iteration % self.every_n and iteration != trainer.max_iter:
            return
        means = {name: total / self._count for name, total in self._sums.items()}
        self._sums, self._count = {}, 0
        if not trainer.is_main:
            return
        parts = [f"iter {iteration}/{trainer.max_iter}"]
        parts += [f"{name} {value:.4f}" for name, value in means.items()]
        if len(means) > 1:
            parts.append(f"total {sum(means.values()):.4f}")
        parts.append(f"lr {trainer.current_lr():.3e}")
        done = iteration - self._start_iteration
        if done > 0:
            per_iteration = (time.perf_counter() - self._start_time) / done
            parts.append(f"ETA {_format_duration(per_iteration * (trainer.max_iter - iteration))}")
        logger.log(self.level, " | ".join(parts))
