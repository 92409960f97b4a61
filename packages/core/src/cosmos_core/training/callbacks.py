"""The callback protocol of the training loop, and building callbacks from ``train.callbacks``.

A callback subclasses :class:`Callback` and overrides the events it cares about. The loop calls
the events through a :class:`CallbackList`, in the order the callbacks were configured:

====================================  ===========================================================
``on_train_start(trainer)``           before the first iteration (after any resume)
``on_before_optimizer_step(t, it)``   gradients of iteration ``it`` are ready (unscaled); clip or
                                      inspect them here
``on_train_step_end(t, it, losses)``  iteration ``it`` is done; ``losses`` are its loss values
                                      (averaged over accumulated micro-batches)
``on_log(t, it, values)``             scalars to record for iteration ``it`` (``train/<loss>``,
                                      ``train/lr``, ``val/<metric>`` and what callbacks publish
                                      with :meth:`Trainer.log_values`)
``on_validation_end(t, it, metrics)`` validation after iteration ``it`` finished
``on_save_checkpoint(t, it, path)``   a checkpoint of iteration ``it`` was written (by rank 0)
``on_train_end(trainer)``             training finished normally
``on_exception(trainer, exc)``        training stopped with ``exc`` (including KeyboardInterrupt)
====================================  ===========================================================

Iterations count completed optimizer steps from 1. Every rank receives every event; callbacks that
write or print check ``trainer.is_main``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosmos_core.config.loader import ConfigError
from cosmos_core.registry import CallbackRegistry, RegistryError

if TYPE_CHECKING:
    from cosmos_core.training.loop import Trainer

logger = logging.getLogger("cosmos.train")


class Callback:
    """Base class of training callbacks: every event is a no-op until overridden."""

    def on_train_start(self, trainer: Trainer) -> None:
        pass

    def on_before_optimizer_step(self, trainer: Trainer, iteration: int) -> None:
        pass

    def on_train_step_end(self, trainer: Trainer, iteration: int, losses: dict[str, float]) -> None:
        pass

    def on_log(self, trainer: Trainer, iteration: int, values: dict[str, float]) -> None:
        pass

    def on_validation_end(self, trainer: Trainer, iteration: int, metrics: dict[str, float]) -> None:
        pass

    def on_save_checkpoint(self, trainer: Trainer, iteration: int, path: Path) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        pass


class CallbackList:
    """Calls each event on every callback, in order."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"{callback!r} is not a cosmos_core.training.callbacks.Callback; subclass it")
        self.callbacks = list(callbacks)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def on_train_start(self, trainer: Trainer) -> None:
        for callback in self.callbacks:
            callback.on_train_start(trainer)

    def on_before_optimizer_step(self, trainer: Trainer, iteration: int) -> None:
        for callback in self.callbacks:
            callback.on_before_optimizer_step(trainer, iteration)

    def on_train_step_end(self, trainer: Trainer, iteration: int, losses: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_train_step_end(trainer, iteration, losses)

    def on_log(self, trainer: Trainer, iteration: int, values: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_log(trainer, iteration, values)

    def on_validation_end(self, trainer: Trainer, iteration: int, metrics: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_validation_end(trainer, iteration, metrics)

    def on_save_checkpoint(self, trainer: Trainer, iteration: int, path: Path) -> None:
        for callback in self.callbacks:
            callback.on_save_checkpoint(trainer, iteration, path)

    def on_train_end(self, trainer: Trainer) -> None:
        for callback in self.callbacks:
            callback.on_train_end(trainer)

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        """Tell every callback; one failing here is logged so the others and the error still run."""
        for callback in self.callbacks:
            try:
                callback.on_exception(trainer, exc)
            except Exception:
                logger.exception("callback %s failed while handling %r", type(callback).__name__, exc)


def build_callbacks(
    callbacks_cfg: Mapping[str, Mapping[str, Any] | None],
    registry: CallbackRegistry,
    *,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    config_path: str = "train.callbacks",
) -> list[Callback]:
    """Instantiate the callbacks named in ``callbacks_cfg``, in its order: ``factory(**params)``.

    ``defaults`` gives a family's extra parameters per name, under the user's (e.g. the experiment's
    ``wandb`` section for the ``wandb`` callback); they apply only to names present in
    ``callbacks_cfg``. An unknown name raises :class:`RegistryError` with the closest registered
    name; bad parameters raise :class:`ConfigError` naming ``train.callbacks.<name>``, all at once.
    """
    factories = {}
    for name in callbacks_cfg:
        try:
            factories[name] = registry.get(name)
        except RegistryError as err:
            raise RegistryError(f"{config_path}.{name}: {err}") from None
    callbacks: list[Callback] = []
    problems: list[str] = []
    for name, params in callbacks_cfg.items():
        where = f"{config_path}.{name}"
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            problems.append(f"{where} must be a mapping of parameters (or {{}}), got {params!r}")
            continue
        merged = {**(defaults or {}).get(name, {}), **params}
        try:
            callback = factories[name](**merged)
        except (TypeError, ValueError) as err:
            problems.append(f"{where}: {err}")
            continue
        if not isinstance(callback, Callback):
            returned = type(callback).__name__
            problems.append(f"{where}: the registered factory returned {returned}, not a Callback")
            continue
        callbacks.append(callback)
    if problems:
        raise ConfigError(problems)
    return callbacks
