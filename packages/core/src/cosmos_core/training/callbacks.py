"""The callback protocol of the training loop, and building callbacks from a family's config.

A callback subclasses :class:`Callback` and overrides the events it cares about. The loop calls
the events through a :class:`CallbackList`, in the order the callbacks were configured:

====================================  ===========================================================
``on_train_start(trainer)``           before the first iteration (after any resume)
``on_after_backward(t, it)``          after the backward pass of every micro-batch of iteration
                                      ``it`` (gradients may still be scaled and accumulating)
``on_before_optimizer_step(t, it)``   gradients of iteration ``it`` are complete and unscaled;
                                      clip or inspect them here
``on_train_step_end(t, it, losses)``  iteration ``it`` is done; ``losses`` are its loss values
                                      (averaged over accumulated micro-batches)
``on_log(t, it, values)``             scalars to record for iteration ``it`` (``train/<loss>``,
                                      ``train/lr``, ``val/<metric>`` and what callbacks publish
                                      with :meth:`TrainerView.log_values`)
``on_validation_end(t, it, metrics)`` validation after iteration ``it`` finished
``on_save_checkpoint(t, it, path)``   a checkpoint of iteration ``it`` was written
``on_train_end(trainer)``             training finished normally
``on_exception(trainer, exc)``        training stopped with ``exc`` (including an interrupt)
====================================  ===========================================================

Iterations count completed optimizer steps from 1. Every rank receives every event; callbacks that
write or print check ``trainer.is_main``. Callbacks see the trainer through :class:`TrainerView`
only, never the concrete class.

A callback with state that must survive a resume (EMA weights, counters) overrides
:meth:`Callback.state_dict` and :meth:`Callback.load_state_dict`; checkpoints store the state under
the callback's :attr:`Callback.name` (its key in the config, set by :func:`build_callbacks`). The
state may hold tensors and DTensors (EMA of sharded parameters): checkpointers save it like the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from cosmos_core.config.loader import ConfigError
from cosmos_core.distributed import DistInfo
from cosmos_core.registry import CallbackRegistry, RegistryError

logger = logging.getLogger("cosmos.train")


@runtime_checkable
class TrainerView(Protocol):
    """What a callback may see of and do with the running trainer."""

    iteration: int
    """Completed optimizer steps."""
    max_iter: int
    samples_per_iteration: int
    """The global batch: batch size x accumulation steps x data-parallel ranks."""
    dist: DistInfo
    module: nn.Module
    """The training module, unwrapped (its parameters may be DTensors)."""
    optimizer: torch.optim.Optimizer
    scheduler: Any
    output_dir: Path

    @property
    def is_main(self) -> bool: ...

    def trainable_parameters(self) -> list[nn.Parameter]: ...

    def named_trainable_parameters(self) -> list[tuple[str, nn.Parameter]]: ...

    def clip_gradients(self, max_norm: float) -> float:
        """Clip the gradients of the trainable parameters to ``max_norm`` (tensor-parallel aware);
        returns the norm before clipping."""

    def current_lr(self) -> float: ...

    def request_stop(self, reason: str) -> None:
        """End training at the next iteration boundary, with a checkpoint (a planned stop)."""

    def log_values(self, values: Mapping[str, float]) -> None:
        """Publish scalars for the current iteration to every callback's ``on_log``."""


class Callback:
    """Base class of training callbacks: every event is a no-op until overridden."""

    name: str = ""
    """The callback's key in the config (``train.callbacks.<name>``); checkpoints store its state under it."""

    def state_dict(self) -> dict[str, Any] | None:
        """State to checkpoint, or None for a stateless callback."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (called on resume, before ``on_train_start``)."""

    def on_train_start(self, trainer: TrainerView) -> None:
        pass

    def on_after_backward(self, trainer: TrainerView, iteration: int) -> None:
        pass

    def on_before_optimizer_step(self, trainer: TrainerView, iteration: int) -> None:
        pass

    def on_train_step_end(self, trainer: TrainerView, iteration: int, losses: dict[str, float]) -> None:
        pass

    def on_log(self, trainer: TrainerView, iteration: int, values: dict[str, float]) -> None:
        pass

    def on_validation_end(self, trainer: TrainerView, iteration: int, metrics: dict[str, float]) -> None:
        pass

    def on_save_checkpoint(self, trainer: TrainerView, iteration: int, path: Path) -> None:
        pass

    def on_train_end(self, trainer: TrainerView) -> None:
        pass

    def on_exception(self, trainer: TrainerView, exc: BaseException) -> None:
        pass


class CallbackList:
    """Calls each event on every callback, in order."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"{callback!r} is not a cosmos_core.training.callbacks.Callback; subclass it")
        self.callbacks = list(callbacks)
        self._check_state_names()

    def _check_state_names(self) -> None:
        names = [self.state_key(index, callback) for index, callback in enumerate(self.callbacks)]
        if len(set(names)) != len(names):
            raise ValueError(f"two callbacks share a name, so their checkpointed states would collide: {names}")

    @staticmethod
    def state_key(index: int, callback: Callback) -> str:
        return callback.name or f"{type(callback).__name__}#{index}"

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def state_dict(self) -> dict[str, Any]:
        """The states of the stateful callbacks, by name."""
        states = {}
        for index, callback in enumerate(self.callbacks):
            state = callback.state_dict()
            if state is not None:
                states[self.state_key(index, callback)] = state
        return states

    def load_state_dict(self, states: Mapping[str, Any]) -> None:
        """Give each stateful callback its saved state; one without a saved state starts fresh."""
        for index, callback in enumerate(self.callbacks):
            key = self.state_key(index, callback)
            if key in states:
                callback.load_state_dict(states[key])
            elif type(callback).state_dict is not Callback.state_dict:
                logger.warning("the checkpoint holds no state for callback %s; it starts afresh", key)

    def on_train_start(self, trainer: TrainerView) -> None:
        for callback in self.callbacks:
            callback.on_train_start(trainer)

    def on_after_backward(self, trainer: TrainerView, iteration: int) -> None:
        for callback in self.callbacks:
            callback.on_after_backward(trainer, iteration)

    def on_before_optimizer_step(self, trainer: TrainerView, iteration: int) -> None:
        for callback in self.callbacks:
            callback.on_before_optimizer_step(trainer, iteration)

    def on_train_step_end(self, trainer: TrainerView, iteration: int, losses: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_train_step_end(trainer, iteration, losses)

    def on_log(self, trainer: TrainerView, iteration: int, values: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_log(trainer, iteration, values)

    def on_validation_end(self, trainer: TrainerView, iteration: int, metrics: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_validation_end(trainer, iteration, metrics)

    def on_save_checkpoint(self, trainer: TrainerView, iteration: int, path: Path) -> None:
        for callback in self.callbacks:
            callback.on_save_checkpoint(trainer, iteration, path)

    def on_train_end(self, trainer: TrainerView) -> None:
        for callback in self.callbacks:
            callback.on_train_end(trainer)

    def on_exception(self, trainer: TrainerView, exc: BaseException) -> None:
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
    name; bad parameters raise :class:`ConfigError` naming ``<config_path>.<name>``, all at once.
    Each callback's :attr:`Callback.name` is set to its key.
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
        callback.name = name
        callbacks.append(callback)
    if problems:
        raise ConfigError(problems)
    return callbacks
