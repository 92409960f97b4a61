"""Recognising a Cosmos-Transfer1 state dict from its keys and shapes alone (no tensor data is read).

A Transfer1 state dict (layout §2, §4) holds ``net.*`` (a DiT or control branch), ``logvar.*`` and, in
the released ``base_model.pt`` and in training checkpoints, ``base_model.``-prefixed copies of those;
TransformerEngine ``_extra_state`` entries are ignored, as the reference's converter drops them. The head
count comes from the attention itself: ``to_q.0.weight`` is ``[heads * head_dim, D]`` and its per-head
RMSNorm ``to_q.1.weight`` is ``[head_dim]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from cosmos_transfer.model.params import split_dim
from cosmos_transfer.tp.errors import NotTransfer1CheckpointError, TensorParallelSizeError

NET_PREFIX = "net."
LOGVAR_PREFIX = "logvar."
BASE_PREFIX = "base_model."
EXTRA_STATE_SUFFIX = "_extra_state"
QUERY_SUFFIX = "attn.to_q.0.weight"
SHOWN = 5


def _shown(keys: list[str]) -> str:
    return ", ".join(keys[:SHOWN]) + (f" (and {len(keys) - SHOWN} more)" if len(keys) > SHOWN else "")


def without_extra_state(layout: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in layout.items() if not key.endswith(EXTRA_STATE_SUFFIX)}


def check_transfer1(path: Path, layout: Mapping[str, Any]) -> int:
    """The attention head count of the state dict ``layout`` (values: tensors, e.g. on the meta device);
    :class:`NotTransfer1CheckpointError` unless it is a Transfer1 one."""
    state = without_extra_state(layout)

    def refuse(reason: str) -> NotTransfer1CheckpointError:
        return NotTransfer1CheckpointError(f"{path} is not a Cosmos-Transfer1 checkpoint: {reason}")

    if not state:
        raise refuse("it holds no tensors")
    not_tensors = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise refuse(f"these entries are not tensors: {_shown(not_tensors)}")
    foreign = [key for key in state if not key.removeprefix(BASE_PREFIX).startswith((NET_PREFIX, LOGVAR_PREFIX))]
    if foreign:
        raise refuse(f"its keys should start with net., logvar. or base_model., but these do not: {_shown(foreign)}")
    heads = set()
    for key, query in state.items():
        norm = state.get(key.replace("to_q.0.weight", "to_q.1.weight"))
        if key.endswith(QUERY_SUFFIX) and norm is not None and norm.dim() == 1 and query.shape[0] % norm.shape[0] == 0:
            heads.add(query.shape[0] // norm.shape[0])
    if not heads:
        raise refuse("it has no attention projections (...attn.to_q.0.weight with its to_q.1 norm)")
    if len(heads) > 1:
        raise refuse(f"its attention layers disagree on the head count ({sorted(heads)})")
    return heads.pop()


def check_divisible(path: Path, layout: Mapping[str, Any], heads: int, tp_size: int) -> None:
    """``tp_size`` must divide the heads and every dimension the split rule chunks."""
    if tp_size < 1 or heads % tp_size:
        choices = ", ".join(str(n) for n in range(1, heads + 1) if heads % n == 0)
        raise TensorParallelSizeError(
            f"tensor-parallel size {tp_size} does not divide the {heads} attention heads of {path}; "
            f"use one of {choices}"
        )
    for key, value in without_extra_state(layout).items():
        dim = split_dim(key)
        if dim is not None and value.shape[dim] % tp_size:
            raise TensorParallelSizeError(
                f"tensor-parallel size {tp_size} does not divide dim {dim} of {key} {tuple(value.shape)} in {path}"
            )
