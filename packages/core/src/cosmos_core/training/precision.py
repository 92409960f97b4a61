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


def cpu_runs_bf16_natively() -> bool:
    """Whether this CPU has the instructions oneDNN computes bf16 matmuls with (AVX-512 on x86, BF16
    on Arm); PyTorch's own check, where this build has it.

    Without them a CPU bf16 matmul takes a scalar fallback: on an AVX2-only AMD EPYC (2026-12-02) a
    2056x1408 by 1408x6144 product, one EVA-ViT-g MLP layer of a 224p clip, took 117 s in bf16
    against 0.31 s in fp32.
    """
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if probe is None:
        return True  # cannot tell: autocast's own probe decides
    try:
        return bool(probe())
    except RuntimeError:
        return True


def resolve_precision(precision: str, device: torch.device, setting: str = "train.precision") -> PrecisionPlan:
    """A :class:`PrecisionPlan` for ``precision`` (bf16, fp16 or fp32) on ``device``.

    A precision the device cannot run, or runs only on a slow fallback (bf16 on a CPU without bf16
    matmul instructions), falls back to fp32 with one warning naming ``setting``, the config path.
    """
    if precision not in _DTYPES:
        raise ValueError(f"{setting} must be one of {', '.join(_DTYPES)}, got {precision!r}")
    dtype = _DTYPES[precision]
    problem = None if dtype is None else _unsupported(device, dtype)
    if problem is not None:
        logger.warning("%s=%s: %s; running in fp32 instead", setting, precision, problem)
        precision, dtype = "fp32", None
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    return PrecisionPlan(name=precision, device_type=device.type, dtype=dtype, scaler=scaler)


def _unsupported(device: torch.device, dtype: torch.dtype) -> str | None:
    """Why ``device`` should not run autocast to ``dtype`` (None: it should)."""
    if device.type == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} has no bf16 support"
    if not autocast_supported(device.type, dtype):
        return f"autocast to {str(dtype).removeprefix('torch.')} is not supported on {device.type} here"
    if device.type == "cpu" and dtype == torch.bfloat16 and not cpu_runs_bf16_natively():
        capability = torch.backends.cpu.get_cpu_capability()
        return (
            f"this CPU ({capability}) has no bf16 matrix instructions PyTorch uses (AVX-512 on x86, BF16 on Arm), "
            "so bf16 matmuls take a fallback that is two orders of magnitude slower than fp32"
        )
    return None
