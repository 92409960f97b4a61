"""The power EMA of the trainable weights as a stateful training callback (``ema`` in the model files).

The reference updates its ``PowerEMATracker`` after each optimizer step with the iteration counted from
0 (so the first update copies the weights) and stores the buffers in the model checkpoint under
``"ema"`` (names ``net-...``); data-parallel ranks 0, 1, 2 track sigma_rel s, s/2, s/4.
"""

from __future__ import annotations

from typing import Any

from cosmos_core.training.callbacks import Callback, TrainerView
from cosmos_core.training.dtensor_state import restore_model_state

from cosmos_transfer.model.ema import PowerEMA, sigma_rel_for_rank

NAME = "ema"


class PowerEMACallback(Callback):
    def __init__(self, rate: float, num: int) -> None:
        self.name = NAME
        self.rate = rate
        self.num = num
        self.ema: PowerEMA | None = None
        self._pending: dict[str, Any] | None = None

    def _ensure(self, trainer: TrainerView) -> PowerEMA:
        if self.ema is None:
            sigma_rel = sigma_rel_for_rank(trainer.dist.dp_rank, self.rate, self.num)
            self.ema = PowerEMA(trainer.module.networks, sigma_rel)
            if self._pending is not None:
                live = dict(self.ema.named_buffers())
                restored = restore_model_state(self._pending, live, keep=("tp",))
                self.ema.load_state_dict(restored, strict=True)
                self._pending = None
        return self.ema

    def on_train_start(self, trainer: TrainerView) -> None:
        self._ensure(trainer)

    def on_train_step_end(self, trainer: TrainerView, iteration: int, losses: dict[str, float]) -> None:
        self._ensure(trainer).update(trainer.module.networks, iteration - 1)

    def state_dict(self) -> dict[str, Any] | None:
        return None if self.ema is None else dict(self.ema.state_dict())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = dict(state)
