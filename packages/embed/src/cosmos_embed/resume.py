"""What resuming a Cosmos-Embed1 run restores: ``train.load_training_state`` and ``train.strict_resume``.

The core's :meth:`Trainer.resume <cosmos_core.training.Trainer.resume>` restores everything a checkpoint
holds. :class:`Embed1Checkpointer` (the single-file checkpointer Embed1 always used) adapts the loaded
state before the trainer applies it:

- **weights**: converted to the live network's layout (σReparam folded into plain weights, or plain
  weights given their σReparam, ``γ = σ(W)``); remaining missing or unexpected keys are an error with
  ``train.strict_resume``, else missing ones keep their current values and unexpected ones are
  dropped, with one warning;
- **optimizer and scheduler**: restored when the checkpoint is one of this run's own
  (``<results_dir>/train/``: a stopped run continuing, which must reproduce the uninterrupted run), or
  with ``train.load_training_state``; otherwise, and whenever the weights' layout changed (the
  optimizer's per-parameter state would no longer line up), they start fresh: new moments, and the
  learning-rate schedule from its start;
- the iteration count, data position, RNG and callback states (EMA) are always restored.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import attrs
from cosmos_core.distributed import DistInfo
from cosmos_core.training import SingleFileCheckpointer
from cosmos_core.training.checkpoint import CheckpointError, TrainingState

from cosmos_embed.model.spectral import (
    GAMMA_KEY,
    expand_to_spectral,
    fold_spectral_state,
    has_spectral_state,
    spectral_layers,
)

logger = logging.getLogger("cosmos.train")

SHOWN = 5


@attrs.define
class AdaptedWeights:
    state: dict[str, Any]
    missing: list[str]
    unexpected: list[str]
    converted: bool
    """σReparam was folded or expanded: same function, other parameters."""

    @property
    def layout_changed(self) -> bool:
        return bool(self.missing or self.unexpected or self.converted)


def adapt_weights(saved: dict[str, Any], live: dict[str, Any], strict: bool, source: str) -> AdaptedWeights:
    """``saved`` (whole tensors) in the layout of ``live`` (the module's state dict, maybe DTensors)."""
    state, converted = dict(saved), False
    if has_spectral_state(state) and not has_spectral_state(live):
        state, converted = fold_spectral_state(state), True
    wanted = [p for p in spectral_layers(live) if f"{p}{GAMMA_KEY}" not in state and f"{p}weight" in state]
    if wanted:
        state, converted = expand_to_spectral(state, wanted), True
    missing = sorted(key for key in live if key not in state)
    unexpected = sorted(key for key in state if key not in live)
    if (missing or unexpected) and strict:
        raise CheckpointError(
            f"checkpoint {source} does not match the model ({_listing(missing, unexpected)}) and "
            "train.strict_resume is true: resume from a checkpoint of this model config, or set "
            "train.strict_resume=false to keep the current values of missing weights and ignore unexpected ones"
        )
    if missing or unexpected:
        logger.warning(
            "checkpoint %s loaded non-strictly (train.strict_resume=false): %s; missing weights keep their "
            "current values, unexpected ones are ignored",
            source,
            _listing(missing, unexpected),
        )
    for key in unexpected:
        del state[key]
    for key in missing:  # every rank walks the same keys in the same order (gathering a DTensor is collective)
        value = live[key]
        state[key] = (value.full_tensor() if hasattr(value, "full_tensor") else value).detach().cpu().clone()
    return AdaptedWeights(state, missing, unexpected, converted)


def _listing(missing: list[str], unexpected: list[str]) -> str:
    parts = []
    for kind, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            shown = ", ".join(keys[:SHOWN]) + (", ..." if len(keys) > SHOWN else "")
            parts.append(f"{len(keys)} {kind} key(s): {shown}")
    return "; ".join(parts)


@attrs.define
class Embed1Checkpointer(SingleFileCheckpointer):
    """``cosmos_embed1_model_<N>.pth`` / ``_latest.pth`` with the resume options applied on load.

    ``trainer`` (set once the :class:`~cosmos_core.training.Trainer` exists) supplies the live module,
    optimizer and scheduler: their state right before resuming is what "start fresh" means.
    """

    load_training_state: bool = False
    strict: bool = False
    trainer: Any = attrs.field(default=None, repr=False)

    def load(self, path: Path, dist: DistInfo) -> TrainingState:
        state = super().load(path, dist)
        if self.trainer is None:
            return state
        own_run = Path(path).resolve().parent == Path(self.folder).resolve()
        adapted = adapt_weights(state.model, self.trainer.module.state_dict(), self.strict, str(path))
        state.model = adapted.state
        if (own_run or self.load_training_state) and not adapted.layout_changed:
            return state
        if dist.is_main:
            why = (
                "the weights' layout differs from the checkpoint's"
                if adapted.layout_changed
                else "it comes from another run folder and train.load_training_state is false"
            )
            logger.info("resuming %s with a fresh optimizer and learning-rate schedule: %s", path, why)
        state.optimizer = self.trainer.optimizer.state_dict()
        state.scheduler = self.trainer.scheduler.state_dict()
        return state
