"""Merging tensor-parallel shards into consolidated checkpoints (``merge_tp``), on the CPU.

The inverse of :mod:`cosmos_transfer.tp.split`, and the reference's ``scripts/convert_ckpt_tp_to_fsdp.py``
without its 8 GPUs (layout §3–§4): column-split keys are concatenated along dim 0, row-split keys along
dim 1, the rest is taken from rank 0. Into ``fsdp_checkpoints/`` next to the shards' folder go

- ``<stem>_reg_model.pt``: the model state dict, flat. Without ``--include-base-model`` the ``base_model.*``
  keys of a training checkpoint are left out, as the reference does (a checkpoint that holds only the base,
  such as a split ``base_model.pt``, keeps them: that is all it has);
- when the shards carry an EMA (``{"model": ..., "ema": {"net-...": ...}}``): ``<stem>_ema_model_only.pt`` =
  the EMA with ``-`` turned into ``.`` plus copies of ``net.pos_embedder.seq``, ``logvar.0.freqs`` and
  ``logvar.0.phases`` (no ``logvar.1.weight``), or with ``--include-base-model`` ``<stem>_ema_model.pt``,
  which also gets the model's ``base_model.*`` keys.

Shards hold ``{"model": ..., "ema": ... | None}`` (the converter, the reference's training), or cosmos-run's
``{"model": ..., "callbacks": ...}`` (no EMA). ``_extra_state`` entries are dropped. Before anything is
written every shard is checked: the same keys and dtypes, shapes that fit the split rule, and replicated
tensors that are byte-for-byte the same on every rank (shards of different iterations are not). Merged
tensors are built tensor by tensor from bounded memory maps; each output file is written atomically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from cosmos_core.training.checkpoint import atomic_save

from cosmos_transfer.model.loading import read_checkpoint
from cosmos_transfer.model.params import split_dim
from cosmos_transfer.tp.errors import NotTransfer1CheckpointError, ShardSetError
from cosmos_transfer.tp.files import MERGE_FOLDER, ema_model_name, reg_model_name
from cosmos_transfer.tp.progress import byte_progress
from cosmos_transfer.tp.reader import DEFAULT_WINDOW, StateReader, tensor_bytes
from cosmos_transfer.tp.recognize import BASE_PREFIX, EXTRA_STATE_SUFFIX, NET_PREFIX, check_transfer1
from cosmos_transfer.tp.shards import ShardSet, check_record_iterations, find_shard_set

EMA_COPIED_KEYS = ("net.pos_embedder.seq", "logvar.0.freqs", "logvar.0.phases")
"""Buffers the EMA lacks (it tracks trainable parameters only), copied from the model as the reference does."""


def dotted(ema_name: str) -> str:
    """``net-blocks-block0-...-weight`` → ``net.blocks.block0....weight`` (the EMA's buffer names)."""
    return ema_name.replace("-", ".")


@dataclasses.dataclass(frozen=True)
class MergePlan:
    shards: ShardSet
    model_keys: tuple[str, ...]  # of the regular export, in file order
    ema_keys: tuple[str, ...]  # EMA buffer names ("-"), () without an EMA
    base_keys: tuple[str, ...]  # base_model.* keys of the model
    include_base_model: bool
    output_dir: Path
    dropped_extra_state: int
    dropped_base_model: int
    merged_bytes: int  # of every tensor written

    @property
    def reg_file(self) -> Path:
        return self.output_dir / reg_model_name(self.shards.stem)

    @property
    def ema_file(self) -> Path | None:
        return self.output_dir / ema_model_name(self.shards.stem, self.include_base_model) if self.ema_keys else None


def _model(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    return payload["model"]


def _ema(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    return payload.get("ema") or {}


def _payload(path: Path) -> Mapping[str, Any]:
    payload = read_checkpoint(path)
    if not isinstance(payload.get("model"), Mapping):
        raise NotTransfer1CheckpointError(f"{path} is not a tensor-parallel model shard: it has no 'model' state dict")
    if payload.get("ema") is not None and not isinstance(payload["ema"], Mapping):
        raise NotTransfer1CheckpointError(f"{path}: its 'ema' entry is a {type(payload['ema']).__name__}, not a dict")
    return payload


def _check_same_layout(part: str, shards: ShardSet, readers: list[StateReader]) -> None:
    """Same keys, dtypes and (for the split rule) shapes on every rank."""
    first = readers[0].layout
    for path, reader in zip(shards.paths[1:], readers[1:], strict=True):
        layout = reader.layout
        if list(layout) != list(first):
            differ = sorted(set(layout) ^ set(first)) or ["(same keys, different order)"]
            raise ShardSetError(
                f"{path.name} and {shards.paths[0].name} hold different {part} keys: {', '.join(differ[:5])}"
            )
        for key, value in layout.items():
            reference = first[key]
            if key.endswith(EXTRA_STATE_SUFFIX):
                continue
            if not (isinstance(value, torch.Tensor) and isinstance(reference, torch.Tensor)):
                raise NotTransfer1CheckpointError(
                    f"{part} entry {key} of {path.name} or {shards.paths[0].name} is not a tensor"
                )
            if value.dtype != reference.dtype or value.shape != reference.shape:
                raise ShardSetError(
                    f"{part} tensor {key} is {value.dtype} {tuple(value.shape)} in {path.name} but {reference.dtype} "
                    f"{tuple(reference.shape)} in {shards.paths[0].name}: the shards are not one checkpoint"
                )


def _same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))


def _check_replicated(part: str, shards: ShardSet, readers: list[StateReader], keys: list[str], rename) -> None:
    """Tensors the split rule replicates must be identical on every rank (reads their data)."""
    for key in keys:
        if split_dim(rename(key)) is not None:
            continue
        first = readers[0].get(key)
        for path, reader in zip(shards.paths[1:], readers[1:], strict=True):
            if not _same_bytes(first, reader.get(key)):
                raise ShardSetError(
                    f"{part} tensor {key} differs between {shards.paths[0].name} and {path.name}, though every "
                    "rank holds the same copy: the shards come from different iterations or runs"
                )


def _output_bytes(reader: StateReader, keys: list[str], tp: int, rename) -> int:
    """Bytes of the merged tensors: a split tensor is ``tp`` times its shard."""
    return sum(tensor_bytes(reader.layout[key]) * (1 if split_dim(rename(key)) is None else tp) for key in keys)


def plan_merge(
    checkpoint: str | Path,
    *,
    include_base_model: bool = False,
    tp: int | None = None,
    output_dir: str | Path | None = None,
    window: int = DEFAULT_WINDOW,
) -> MergePlan:
    """Find and check every shard of ``checkpoint`` and say what :func:`merge_shards` will write.

    Reads the data of replicated tensors (to compare them across ranks); writes nothing.
    """
    shards = find_shard_set(checkpoint, tp)
    check_record_iterations(shards, [_payload(path) for path in shards.paths])
    models, emas = _readers(shards.paths, _model, window), _readers(shards.paths, _ema, window)
    check_transfer1(shards.paths[0], models[0].layout)
    _check_same_layout("model", shards, models)
    _check_same_layout("EMA", shards, emas)
    kept = [key for key in models[0].keys if not key.endswith(EXTRA_STATE_SUFFIX)]
    base_keys = [key for key in kept if key.startswith(BASE_PREFIX)]
    has_branch = any(key.startswith(NET_PREFIX) for key in kept)
    model_keys = [key for key in kept if include_base_model or not has_branch or not key.startswith(BASE_PREFIX)]
    ema_keys = emas[0].keys
    if ema_keys:
        missing = [key for key in EMA_COPIED_KEYS if key not in kept]
        if missing:
            raise NotTransfer1CheckpointError(
                f"{shards.paths[0]} has an EMA but its model lacks {', '.join(missing)}, which the EMA export copies"
            )
    _check_replicated("model", shards, models, kept, lambda key: key)
    _check_replicated("EMA", shards, emas, ema_keys, dotted)
    merged_bytes = _output_bytes(models[0], model_keys, shards.tp, lambda key: key)
    merged_bytes += _output_bytes(emas[0], ema_keys, shards.tp, dotted)
    return MergePlan(
        shards=shards,
        model_keys=tuple(model_keys),
        ema_keys=tuple(ema_keys),
        base_keys=tuple(base_keys),
        include_base_model=include_base_model,
        output_dir=Path(output_dir) if output_dir is not None else shards.folder.parent / MERGE_FOLDER,
        dropped_extra_state=len(models[0].keys) - len(kept),
        dropped_base_model=len(kept) - len(model_keys),
        merged_bytes=merged_bytes,
    )


def _readers(paths: tuple[Path, ...], select, window: int) -> list[StateReader]:
    """One reader per shard, sharing ``window`` (the pages resident at once stay within it)."""
    return [StateReader(path, select, max(1, window // len(paths))) for path in paths]


def _merge(key: str, readers: list[StateReader], rule_key: str) -> torch.Tensor:
    dim = split_dim(rule_key)
    if dim is None or len(readers) == 1:
        return readers[0].get(key).clone()
    return torch.cat([reader.get(key) for reader in readers], dim=dim)


def merge_shards(plan: MergePlan, *, window: int = DEFAULT_WINDOW, progress: bool = True) -> list[Path]:
    """Write the consolidated files of ``plan``; returns them (regular export first)."""
    paths = plan.shards.paths
    models = _readers(paths, _model, window)
    written = []
    with byte_progress(plan.merged_bytes, f"merge_tp {plan.shards.stem}", enabled=progress) as bar:

        def merged(readers: list[StateReader], keys: tuple[str, ...], rename=lambda key: key) -> dict[str, Any]:
            out = {}
            for key in keys:
                out[rename(key)] = _merge(key, readers, rename(key))
                bar.update(tensor_bytes(out[rename(key)]))
            return out

        written.append(atomic_save(merged(models, plan.model_keys), plan.reg_file))
        if plan.ema_file is not None:
            ema = merged(_readers(paths, _ema, window), plan.ema_keys, dotted)
            for key in EMA_COPIED_KEYS:
                ema[key] = models[0].get(key).clone()
            if plan.include_base_model:
                ema.update({key: _merge(key, models, key) for key in plan.base_keys if key not in ema})
            written.append(atomic_save(ema, plan.ema_file))
    return written
