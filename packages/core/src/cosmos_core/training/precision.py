"""Mixed precision: autocast for the forward pass, gradient scaling for fp16."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import attrs
import torch

logger = logging.getLogger("cosmos.train")

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None, "bf16_weights": None}
"""The autocast dtype of each precision; ``bf16_weights`` modules hold bf16 weights and need none."""


@attrs.frozen
class PrecisionPlan:
    """The precision actually used on a device (after any fallback) and its gradient scaler.

    The scaler is always present; it is disabled (a pass-through) unless the plan is fp16.
    """

    name: str
    device_type: str
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Forward passes run inside this: autocast to ``dtype``, or nothing for fp32."""
        if self.dtype is None:
            yield
            return
        with torch.autocast(self.device_type, dtype=self.dtype):
            yield


def autocast_supported(device_type: str, dtype: torch.dtype) -> bool:
    """Whether autocast on ``device_type`` really computes a matmul in ``dtype``.

    Some builds accept the request and silently disable autocast, so this runs one tiny matmul.
    """
    if not torch.amp.is_autocast_available(device_type):
        return False
    try:
        probe = torch.ones(2, 2, device=device_type)
        with torch.autocast(device_type, dtype=dtype):
            return (probe @ probe).dtype == dtype
    except (RuntimeError, ValueError):
        return False


def resolve_precision(precision: str, device: torch.device) -> PrecisionPlan:
    """A :class:`PrecisionPlan` for ``precision`` (bf16, fp16 or fp32) on ``device``.

    A precision the device cannot run falls back to fp32 with one warning.
    """
    if precision not in _DTYPES:
        raise ValueError(f"train.precision must be one of {', '.join(_DTYPES)}, got {precision!r}")
    dtype = _DTYPES[precision]
    if dtype is not None and not _device_runs(device, dtype):
        logger.warning("train.precision=%s is not supported on %s here; training in fp32 instead", precision, device)
        precision, dtype = "fp32", None
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    return PrecisionPlan(name=precision, device_type=device.type, dtype=dtype, scaler=scaler)


def _device_runs(device: torch.device, dtype: torch.dtype) -> bool:
    if device.type == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        return False
    return autocast_supported(device.type, dtype)
