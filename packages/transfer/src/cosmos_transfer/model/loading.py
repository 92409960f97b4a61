"""Strict loading of the released Transfer1 checkpoints into ``VideoDiT`` / ``ControlDiT``.

The reference loads both non-strictly (``model_ctrl.py::load_base_model`` and ``non_strict_load_model``);
its worst bug (issues #77/#87, fixed by PR #162) was a ``base_model.`` prefix that made every key miss, so
training ran on a randomly initialised base. Here any missing, unexpected or wrongly shaped key stops the
load before a single tensor is copied, with the keys listed.

Files are read with ``torch.load(weights_only=True, mmap=True)``: only tensors and plain containers are
unpickled, never code. The one extra type allowed is ``io.BytesIO``, the form TransformerEngine 1.0-1.13
gave its ``_extra_state`` entries (TE PR #1335 moved back to tensors); those entries are dropped.

Accepted layouts (layout §2, §4):

- ``base_model.pt``: ``{"ema": {...}}`` (names with ``-`` for ``.``), ``{"model": {...}}`` or a flat dict, chosen
  in that order as the reference's loader does; keys may carry ``base_model.``; holds ``net.*`` (the base
  DiT) and ``logvar.*``.
- ``<modality>_control.pt``: ``net.*`` keys of the control branch, flat or under ``"model"`` (or ``"ema"``
  with ``use_ema``). ``logvar.*`` (the shared base head) and ``base_model.*`` (the base, present in full
  training checkpoints) are not part of the branch: they are skipped and reported in ``LoadReport.skipped``.

An EMA dict holds trainable parameters only, so when it is the source, the keys it lacks (persistent
buffers such as ``net.pos_embedder.seq`` and ``logvar.0.freqs``, frozen parameters) are taken from the
file's ``"model"`` entry when there is one.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import torch
from cosmos_core.errors import UserInputError
from torch import nn

BASE_PREFIX = "base_model."
NET_PREFIX = "net."
LOGVAR_PREFIX = "logvar."
EXTRA_STATE_SUFFIX = "_extra_state"
SHOWN_KEYS = 12


class CheckpointFileError(UserInputError, OSError):
    """A checkpoint that is missing, unreadable or not a state dict."""


class CheckpointKeyMismatchError(UserInputError, ValueError):
    """A strict load found missing, unexpected or wrongly shaped keys; nothing was loaded."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str], mismatched: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched


@dataclasses.dataclass(frozen=True)
class LoadReport:
    source: str  # "ema", "model" or "flat": which part of the file was loaded
    loaded: int  # tensors copied into the modules
    skipped: tuple[str, ...]  # keys that belong to other modules (see the module docstring)
    dropped_extra_state: int  # TransformerEngine _extra_state entries ignored


def read_checkpoint(path: str | Path) -> Mapping[str, Any]:
    """The unpickled top-level dict of ``path`` (tensors memory-mapped, nothing executable)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointFileError(f"checkpoint {str(path)!r} not found")
    try:
        with torch.serialization.safe_globals([io.BytesIO]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, ValueError… for bad files
        raise CheckpointFileError(f"cannot read checkpoint {str(path)!r}: {str(err).strip().splitlines()[0]}") from err
    if not isinstance(checkpoint, Mapping):
        raise CheckpointFileError(f"checkpoint {str(path)!r} holds a {type(checkpoint).__name__}, not a state dict")
    return checkpoint


def select_state(checkpoint: Mapping[str, Any], prefer_ema: bool) -> tuple[str, dict[str, Any]]:
    """(source, state) by the reference's rule: a non-empty ``"ema"`` (if preferred), else ``"model"``, else flat."""
    model = checkpoint.get("model")
    if prefer_ema and checkpoint.get("ema"):
        state = {key.replace("-", "."): value for key, value in checkpoint["ema"].items()}
        if isinstance(model, Mapping):  # the EMA tracks trainable parameters only: buffers etc. come from model
            state.update({key: value for key, value in model.items() if key not in state})
        return "ema", state
    if isinstance(model, Mapping):
        return "model", dict(model)
    return "flat", dict(checkpoint)


def _drop_extra_state(state: dict[str, Any]) -> tuple[dict[str, Any], int]:
    kept = {key: value for key, value in state.items() if not key.endswith(EXTRA_STATE_SUFFIX)}
    return kept, len(state) - len(kept)


def _shown(keys: list[str]) -> str:
    head = ", ".join(keys[:SHOWN_KEYS])
    return head + (f", ... ({len(keys) - SHOWN_KEYS} more)" if len(keys) > SHOWN_KEYS else "")


def _raise_mismatch(
    path: str | Path, what: str, missing: list[str], unexpected: list[str], mismatched: list[str]
) -> NoReturn:
    lines = [f"{path}: does not match the {what}; nothing was loaded"]
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched)):
        if keys:
            lines.append(f"  {len(keys)} {label}: {_shown(keys)}")
    raise CheckpointKeyMismatchError("\n".join(lines), missing, unexpected, mismatched)


def check_keys(module: nn.Module, state: Mapping[str, Any], *, what: str, path: str | Path) -> None:
    """Raise ``CheckpointKeyMismatchError`` unless ``state`` has exactly ``module.state_dict()``'s keys and shapes."""
    expected = module.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    mismatched = [
        f"{key} {tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__} "
        f"(expected {tuple(expected[key].shape)})"
        for key, value in state.items()
        if key in expected and (not isinstance(value, torch.Tensor) or value.shape != expected[key].shape)
    ]
    if missing or unexpected or mismatched:
        _raise_mismatch(path, what, missing, unexpected, mismatched)


def _split_prefixed(state: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    inside = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    outside = {key: value for key, value in state.items() if not key.startswith(prefix)}
    return inside, outside


def load_base_checkpoint(
    path: str | Path, net: nn.Module, logvar: nn.Module | None = None, *, assign: bool = False
) -> LoadReport:
    """Load ``base_model.pt`` into the base DiT (``net.*``) and, when given, the logvar head (``logvar.*``).

    With ``logvar=None`` the file's ``logvar.*`` keys are skipped (generation needs no logvar head).
    """
    source, state = select_state(read_checkpoint(path), prefer_ema=True)
    state, dropped = _drop_extra_state(state)
    stripped = {key.removeprefix(BASE_PREFIX): value for key, value in state.items()}
    if len(stripped) != len(state):
        both = sorted(key for key in stripped if BASE_PREFIX + key in state and key in state)
        _raise_mismatch(path, "base checkpoint layout (keys with and without base_model.)", [], both, [])
    net_state, rest = _split_prefixed(stripped, NET_PREFIX)
    logvar_state, rest = _split_prefixed(rest, LOGVAR_PREFIX)
    if rest:
        _raise_mismatch(path, "base checkpoint layout (net.* and logvar.* only)", [], list(rest), [])
    check_keys(net, net_state, what="base DiT (net.*)", path=path)
    if logvar is not None:
        check_keys(logvar, logvar_state, what="logvar head (logvar.*)", path=path)
    net.load_state_dict(net_state, strict=True, assign=assign)
    if logvar is None:
        return LoadReport(source, len(net_state), tuple(LOGVAR_PREFIX + key for key in logvar_state), dropped)
    logvar.load_state_dict(logvar_state, strict=True, assign=assign)
    return LoadReport(source, len(net_state) + len(logvar_state), (), dropped)


def load_control_checkpoint(
    path: str | Path, net: nn.Module, *, use_ema: bool = False, assign: bool = False
) -> LoadReport:
    """Load ``<modality>_control.pt`` (or a training checkpoint's branch) into the control branch."""
    source, state = select_state(read_checkpoint(path), prefer_ema=use_ema)
    state, dropped = _drop_extra_state(state)
    skipped = tuple(key for key in state if key.startswith((BASE_PREFIX, LOGVAR_PREFIX)))
    net_state, rest = _split_prefixed({k: v for k, v in state.items() if k not in skipped}, NET_PREFIX)
    if rest:
        _raise_mismatch(path, "control checkpoint layout (net.* keys)", [], list(rest), [])
    check_keys(net, net_state, what="control branch (net.*)", path=path)
    net.load_state_dict(net_state, strict=True, assign=assign)
    return LoadReport(source, len(net_state), skipped, dropped)
