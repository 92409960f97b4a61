"""Exponential moving averages of the trainable weights (``train.ema``), and reading them from checkpoints.

After every optimizer step each shadow tensor moves towards its parameter,
``shadow <- decay * shadow + (1 - decay) * parameter``, starting from the parameters as training starts
(no warm-up: pick ``train.ema.decay`` for the run's length; 0.9999 averages over ~10k steps).
Shadows are clones of the parameters, so under FSDP they are DTensors sharded exactly like them and the
update is local to each rank. Checkpoints store the state (gathered to whole tensors by the
checkpointer) under ``callbacks["ema"]``: ``shadow`` keyed by the network's state-dict names,
``aliases`` naming every other key of a tied parameter, ``decay`` and ``updates``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

logger = logging.getLogger("cosmos.embed")

CALLBACK_NAME = "ema"
"""The callback's key in train.callbacks, hence in checkpoints' ``callbacks``."""


class EMAWeights:
    """Shadow weights of a network's trainable parameters."""

    def __init__(self, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.shadow: dict[str, torch.Tensor] = {}
        self.aliases: dict[str, str] = {}
        self._parameters: dict[str, nn.Parameter] = {}
        self._backup: list[torch.Tensor] | None = None
        self._pending: Mapping[str, Any] | None = None

    def attach(self, network: nn.Module) -> None:
        """Track ``network``'s trainable parameters: restore a loaded state onto them, or start from them."""
        self._parameters = {name: p for name, p in network.named_parameters() if p.requires_grad}
        canonical = {id(p): name for name, p in self._parameters.items()}
        self.aliases = {
            name: canonical[id(p)]
            for name, p in network.named_parameters(remove_duplicate=False)
            if id(p) in canonical and canonical[id(p)] != name
        }
        saved = dict((self._pending or {}).get("shadow") or {})
        if self._pending is not None:
            self.updates = int(self._pending.get("updates", 0))
            self._report_mismatch(saved)
        self._pending = None
        self.shadow = {name: self._placed(saved.get(name), p) for name, p in self._parameters.items()}
        self._backup = None

    @staticmethod
    def _placed(saved: torch.Tensor | None, parameter: nn.Parameter) -> torch.Tensor:
        if saved is None or tuple(saved.shape) != tuple(parameter.shape):
            return parameter.detach().clone()
        from cosmos_core.training.dtensor_state import like

        placed = like(saved.to(parameter.dtype), parameter.detach())  # a DTensor sharded like the parameter
        return placed if placed is not saved else saved.to(parameter.device, parameter.dtype).clone()

    def _report_mismatch(self, saved: Mapping[str, torch.Tensor]) -> None:
        fresh = [name for name, p in self._parameters.items() if name not in saved or saved[name].shape != p.shape]
        dropped = [name for name in saved if name not in self._parameters]
        if fresh or dropped:
            logger.warning(
                "EMA state of the checkpoint does not match the trainable parameters: %d start from the current "
                "weights (%s), %d saved shadows are dropped (%s)",
                len(fresh),
                ", ".join(fresh[:3]) or "-",
                len(dropped),
                ", ".join(dropped[:3]) or "-",
            )

    @torch.no_grad()
    def update(self) -> None:
        """One step: ``shadow <- decay * shadow + (1 - decay) * parameter`` for every tracked parameter."""
        for name, shadow in self.shadow.items():
            shadow.mul_(self.decay).add_(self._parameters[name].detach(), alpha=1.0 - self.decay)
        self.updates += 1

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The shadow weights in place of the parameters for the block (restored even on an exception)."""
        if not self.shadow:
            yield
            return
        parameters = [self._parameters[name].detach() for name in self.shadow]
        with torch.no_grad():
            if self._backup is None:
                self._backup = [torch.empty_like(p) for p in parameters]
            for parameter, backup, shadow in zip(parameters, self._backup, self.shadow.values(), strict=True):
                backup.copy_(parameter)
                parameter.copy_(shadow)
        try:
            yield
        finally:
            with torch.no_grad():
                for parameter, backup in zip(parameters, self._backup, strict=True):
                    parameter.copy_(backup)

    def state_dict(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "updates": self.updates,
            "shadow": dict(self.shadow),
            "aliases": dict(self.aliases),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Keep ``state`` until :meth:`attach` places it on the live parameters."""
        self._pending = state


def checkpoint_ema(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The EMA state of a training checkpoint's payload, if it has one."""
    state = (payload.get("callbacks") or {}).get(CALLBACK_NAME)
    return state if isinstance(state, Mapping) and state.get("shadow") else None


def with_ema_weights(model: Mapping[str, torch.Tensor], ema: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """``model`` (a network state dict) with the EMA shadows in place of the raw trained weights."""
    state = dict(model)
    shadow, aliases = ema["shadow"], dict(ema.get("aliases") or {})
    unknown = [name for name in shadow if name not in state]
    if unknown:
        raise ValueError(f"EMA weights for keys the model state lacks: {', '.join(unknown[:3])}")
    for name, tensor in shadow.items():
        state[name] = tensor.to(state[name].dtype)
    for alias, name in aliases.items():
        if alias in state:
            state[alias] = state[name]
    return state
