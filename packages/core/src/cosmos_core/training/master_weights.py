"""fp32 master weights for a module that trains in bf16 (the reference's ``FusedAdam(master_weights=True)``).

A network cast to bf16 whole keeps activations and gradients at half the bytes, but a bf16 weight
cannot hold an Adam update much smaller than 2^-8 of itself: late in training most steps would round
away. So the optimizer keeps an fp32 copy of every low-precision trainable parameter and steps those:
before each step the bf16 gradients are copied into the masters' ``.grad``, after it the masters are
copied (rounded) back into the module's parameters. fp32 parameters are stepped directly. The
masters travel in the optimizer's ``state_dict`` (``"master_weights"``), so a resumed run continues
from the exact fp32 values, not from the rounded bf16 ones of the model file.

Works for plain tensors and DTensors (TP/FSDP shards): each master is a copy of the local shard's
parameter object with the same placement. Gradient scaling (fp16) is not supported: GradScaler
unscales the gradients of the optimizer's own parameters, which are the masters.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

MASTER_KEY = "master_weights"


class MasterWeightsMixin:
    """Put before a ``torch.optim.Optimizer`` subclass: ``class M(MasterWeightsMixin, AdamW)``."""

    def __init__(self, params: Any, *args: Any, **kwargs: Any) -> None:
        self._pairs: list[tuple[nn.Parameter, nn.Parameter]] = []
        params = list(params)
        groups = [dict(g) for g in params] if params and isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            group["params"] = [self._master_of(p) for p in group["params"]]
        super().__init__(groups, *args, **kwargs)

    def _master_of(self, parameter: nn.Parameter) -> nn.Parameter:
        if parameter.dtype == torch.float32:
            return parameter
        master = nn.Parameter(parameter.detach().to(torch.float32).clone())
        self._pairs.append((parameter, master))
        return master

    @property
    def master_pairs(self) -> list[tuple[nn.Parameter, nn.Parameter]]:
        """``(module parameter, fp32 master)`` of every low-precision parameter."""
        return list(self._pairs)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        for parameter, master in self._pairs:
            master.grad = None if parameter.grad is None else parameter.grad.to(torch.float32)
        loss = super().step(closure)
        for parameter, master in self._pairs:
            parameter.copy_(master)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none)
        for parameter, master in self._pairs:
            parameter.grad = None
            master.grad = None

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state[MASTER_KEY] = [master.detach() for _, master in self._pairs]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        masters = state.pop(MASTER_KEY, None)
        if masters is not None:
            if len(masters) != len(self._pairs):
                raise ValueError(
                    f"the checkpoint's optimizer holds {len(masters)} master weights, this run has {len(self._pairs)} "
                    "low-precision trainable parameters: it was written for another model or precision"
                )
            with torch.no_grad():
                for (parameter, master), saved in zip(self._pairs, masters, strict=True):
                    master.copy_(saved)
                    parameter.copy_(master)
        super().load_state_dict(state)


def with_master_weights(optimizer_class: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """``optimizer_class`` stepping fp32 masters of its low-precision parameters."""
    return type(f"MasterWeights{optimizer_class.__name__}", (MasterWeightsMixin, optimizer_class), {})
