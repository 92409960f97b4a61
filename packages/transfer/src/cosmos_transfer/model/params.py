"""Parameter counts and the reference's tensor-parallel split rule, on shapes only (no process group).

The rule is ``scripts/convert_ckpt_fsdp_to_tp.py`` (layout §3): keys ending in ``to_q.0.weight``,
``to_k.0.weight``, ``to_v.0.weight`` or ``block.layer1.weight`` are chunked along dim 0 (column parallel),
keys ending in ``to_out.0.weight`` or ``block.layer2.weight`` along dim 1 (row parallel), everything else
is replicated. ``tensor_parallel_plan`` names the same Linear modules for a DTensor ``parallelize_module``
plan (``"colwise"`` → ``ColwiseParallel``, ``"rowwise"`` → ``RowwiseParallel``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn

COLUMN_SUFFIXES = ("to_q.0.weight", "to_k.0.weight", "to_v.0.weight", "block.layer1.weight")
ROW_SUFFIXES = ("to_out.0.weight", "block.layer2.weight")

SplitStyle = Literal["colwise", "rowwise"]


def split_dim(key: str) -> int | None:
    """0 for column-parallel keys, 1 for row-parallel keys, None for replicated ones."""
    if key.endswith(COLUMN_SUFFIXES):
        return 0
    if key.endswith(ROW_SUFFIXES):
        return 1
    return None


def shard_shape(key: str, shape: Iterable[int], tp_size: int, rank: int = 0) -> tuple[int, ...]:
    """Shape of ``rank``'s shard: ``torch.chunk(tp_size, dim)[rank]`` of a split key, the full shape otherwise."""
    shape = tuple(shape)
    dim = split_dim(key)
    if dim is None or tp_size == 1:
        return shape
    if shape[dim] % tp_size:
        raise ValueError(f"{key}: dim {dim} of {shape} is not divisible by the tensor-parallel size {tp_size}")
    return shape[:dim] + (shape[dim] // tp_size,) + shape[dim + 1 :]


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    parameters = list(module.parameters())
    return sum(p.numel() for p in parameters), sum(p.numel() for p in parameters if p.requires_grad)


def parameters_per_tp_rank(module: nn.Module, tp_size: int, trainable_only: bool = True) -> int:
    """Parameters one tensor-parallel rank holds under the split rule (rank 0; all ranks are equal)."""
    total = 0
    for name, parameter in module.named_parameters():
        if trainable_only and not parameter.requires_grad:
            continue
        total += torch.Size(shard_shape(name, parameter.shape, tp_size)).numel()
    return total


def tensor_parallel_plan(module: nn.Module) -> dict[str, SplitStyle]:
    """``{Linear module name: "colwise" | "rowwise"}`` for the split keys of ``module``."""
    plan: dict[str, SplitStyle] = {}
    for name, child in module.named_modules():
        if isinstance(child, nn.Linear):
            dim = split_dim(f"{name}.weight")
            if dim is not None:
                plan[name] = "colwise" if dim == 0 else "rowwise"
    return plan
