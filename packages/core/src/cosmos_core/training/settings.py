"""The training loop's settings, in neutral names that each family maps from its own schema.

Cosmos-Embed1 maps its TAO ``train`` section (``train.max_iter``, ``train.checkpoint_iter``, …);
Cosmos-Transfer1 the reference's ``trainer.max_iter``, ``checkpoint.save_iter``, …. ``sources`` maps
each setting to the config path it came from, so :meth:`LoopSettings.problems` speaks the user's
terms (``train.max_iter must be > 0``) whatever the family.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import attrs

OptimizerName = Literal["adamw", "fused_adamw", "adam", "sgd"]
SchedulePolicy = Literal["cosine", "linear", "constant"]
PrecisionName = Literal["bf16", "fp16", "fp32", "bf16_weights"]
"""``bf16`` / ``fp16``: autocast (fp16 with gradient scaling); ``fp32``: neither; ``bf16_weights``: the
module holds bf16 weights itself (and casts its inputs), so the loop adds no autocast; pair it with
``OptimizerSettings.master_weights``."""


@attrs.frozen
class OptimizerSettings:
    name: OptimizerName = "adamw"
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    master_weights: bool = False
    """Step fp32 master copies of the low-precision trainable parameters (see
    :mod:`cosmos_core.training.master_weights`)."""


@attrs.frozen
class ScheduleSettings:
    """Warm-up rises linearly from ``warmup_start`` x lr to lr over ``warmup_steps``; then ``cosine`` and
    ``linear`` decay to 0 at step ``decay_steps`` (counted from the start) and ``constant`` stays."""

    warmup_steps: int = 0
    policy: SchedulePolicy = "constant"
    decay_steps: int = 0
    warmup_start: float = 0.0


@attrs.frozen
class LoopSettings:
    """What :class:`cosmos_core.training.Trainer` needs to know about a run."""

    max_iter: int
    checkpoint_every: int
    seed: int = 0
    validation_every: int = 1000
    grad_accum_steps: int = 1
    clip_grad_norm: float = 0.0
    """0 disables clipping in the loop (a ``gradient_clip`` callback may still clip, through the same
    function)."""
    precision: PrecisionName = "fp32"
    max_val_batches: int | None = None
    resume_from: str | None = None
    """A checkpoint to continue (everything is restored, the iteration included)."""
    auto_resume: bool = False
    """Without ``resume_from``, continue from the checkpointer's latest checkpoint when there is one
    (rerunning the same command resumes, as the reference's trainer does)."""
    optimizer: OptimizerSettings = OptimizerSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    sources: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    """Setting (``max_iter``, ``optimizer.lr``, …) → config path it came from, for messages."""

    def path(self, name: str) -> str:
        return self.sources.get(name, name)

    def problems(self) -> list[str]:
        """Every setting out of range, each naming its config path (empty when usable)."""
        problems: list[str] = []
        for name in ("max_iter", "checkpoint_every", "validation_every"):
            if getattr(self, name) <= 0:
                problems.append(f"{self.path(name)} must be > 0, got {getattr(self, name)}")
        if self.grad_accum_steps < 1:
            problems.append(f"{self.path('grad_accum_steps')} must be >= 1, got {self.grad_accum_steps}")
        if not self.clip_grad_norm >= 0:
            problems.append(f"{self.path('clip_grad_norm')} must be >= 0 (0 disables it), got {self.clip_grad_norm}")
        if self.max_val_batches is not None and self.max_val_batches <= 0:
            problems.append(
                f"{self.path('max_val_batches')} must be > 0, or null for the whole validation set, "
                f"got {self.max_val_batches}"
            )
        problems += self._optimizer_problems()
        return problems

    def _optimizer_problems(self) -> list[str]:
        problems = []
        opt, schedule = self.optimizer, self.schedule
        for name in ("lr", "weight_decay", "eps"):
            value = getattr(opt, name)
            if not (math.isfinite(value) and value >= 0):
                problems.append(f"{self.path('optimizer.' + name)} must be a finite number >= 0, got {value}")
        if len(opt.betas) != 2 or not all(0.0 <= beta < 1.0 for beta in opt.betas):
            problems.append(f"{self.path('optimizer.betas')} must be two numbers in [0, 1), got {list(opt.betas)}")
        if opt.master_weights and self.precision == "fp16":
            problems.append(
                f"{self.path('optimizer.master_weights')} does not combine with fp16 gradient scaling "
                f"({self.path('precision')}=fp16): use bf16"
            )
        if schedule.warmup_steps < 0:
            problems.append(f"{self.path('schedule.warmup_steps')} must be >= 0, got {schedule.warmup_steps}")
        if schedule.policy in ("cosine", "linear") and schedule.decay_steps <= schedule.warmup_steps:
            decay, warmup = self.path("schedule.decay_steps"), self.path("schedule.warmup_steps")
            problems.append(
                f"{decay} ({schedule.decay_steps}) must be greater than {warmup} ({schedule.warmup_steps}) for "
                f"the {schedule.policy} policy: decay runs from the end of warm-up to {decay.rsplit('.', 1)[-1]}; "
                f"raise it, lower {warmup.rsplit('.', 1)[-1]}, or use a constant policy"
            )
        return problems
