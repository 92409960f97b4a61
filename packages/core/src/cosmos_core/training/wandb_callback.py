"""Weights and Biases logging that switches itself off when it cannot work.

The callback's parameters mirror the experiment's ``wandb`` section (``enable``, ``project``,
``group``, ``name``, ``tags``, ``save_code``, ``api_key``) plus ``config`` (the resolved experiment,
shown in the run's config tab). A model family passes them through the ``defaults`` of
:func:`cosmos_core.training.callbacks.build_callbacks`::

    defaults = {"wandb": {**attrs.asdict(cfg.wandb), "config": unstructure(cfg)}}
    callbacks = build_callbacks(cfg.train.callbacks, host.callbacks, defaults=defaults)

so ``train.callbacks.wandb: {}`` in a spec picks up ``wandb.*`` and a key under
``train.callbacks.wandb`` overrides it. Only rank 0 talks to Weights and Biases. Without an API key
(``api_key`` or WANDB_API_KEY) the callback turns itself off with one info line, unless WANDB_MODE
is ``offline`` or ``disabled``, which need no key. ``wandb`` is imported only when a run starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cosmos_core.training.callbacks import Callback

if TYPE_CHECKING:
    from cosmos_core.training.callbacks import TrainerView as Trainer

logger = logging.getLogger("cosmos.train")

KEYLESS_MODES = ("offline", "disabled")


class WandbCallback(Callback):
    """Logs every ``on_log`` value (losses, LR, validation metrics, speed, norms) to a W&B run."""

    def __init__(
        self,
        *,
        enable: bool = False,
        project: str = "cosmos-run",
        name: str = "",
        group: str = "",
        tags: Sequence[str] = (),
        save_code: bool = False,
        api_key: str = "",
        config: dict[str, Any] | None = None,
    ) -> None:
        self.enable = bool(enable)
        self.project = project
        self.name = name
        self.group = group
        self.tags = list(tags)
        self.save_code = bool(save_code)
        self.api_key = api_key
        self.config = config
        self.run: Any = None

    def on_train_start(self, trainer: Trainer) -> None:
        if not trainer.is_main:
            return
        if not self.enable:
            logger.debug("Weights and Biases logging is off (wandb.enable is false)")
            return
        mode = os.environ.get("WANDB_MODE", "").strip().lower()
        key = self.api_key or os.environ.get("WANDB_API_KEY", "")
        if not key and mode not in KEYLESS_MODES:
            logger.info(
                "Weights and Biases logging is off: no API key (set wandb.api_key or WANDB_API_KEY, "
                "or WANDB_MODE=offline to log locally)"
            )
            return
        try:
            import wandb
        except ImportError:
            logger.info("Weights and Biases logging is off: wandb is not installed (pip install wandb)")
            return
        settings = wandb.Settings(api_key=key) if key else None
        self.run = wandb.init(
            project=self.project,
            name=self.name or None,
            group=self.group or None,
            tags=self.tags or None,
            config=self.config,
            save_code=self.save_code,
            dir=str(trainer.output_dir),
            settings=settings,
        )

    def on_log(self, trainer: Trainer, iteration: int, values: dict[str, float]) -> None:
        if self.run is not None:
            self.run.log(values, step=iteration)

    def on_train_end(self, trainer: Trainer) -> None:
        self._finish(exit_code=0)

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        self._finish(exit_code=1)

    def _finish(self, exit_code: int) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None
