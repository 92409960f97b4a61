"""Finding and checking the shard files of one tensor-parallel checkpoint (``merge_tp``'s input).

``CHECKPOINT`` is the trainer file (``iter_000000100.pt``, or ``<name>.pt`` from ``convert_tp``) or any one
of its ``<stem>_model_mp_{k}.pt`` files. The set must be ranks ``0..N-1`` with nothing missing and
nothing extra, N being ``--tp`` when given, else the trainer file's ``tp_size`` (cosmos-run training
checkpoints record it), else what is there. A trainer file whose ``iteration`` disagrees with its
``iter_{N}`` name, and shards whose ``trained_data_record`` iterations differ (the reference's model
files carry one), are refused as shards of different iterations; so are shards whose replicated tensors
differ, checked on the data by :mod:`cosmos_transfer.tp.merge`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosmos_transfer.model.loading import read_checkpoint
from cosmos_transfer.tp.errors import ShardSetError
from cosmos_transfer.tp.files import iteration_in_name, parse_shard_name, shard_path, shard_ranks, trainer_path


@dataclasses.dataclass(frozen=True)
class ShardSet:
    folder: Path
    stem: str
    trainer: Path | None  # None when only shard files were found
    iteration: int | None  # from the trainer file
    paths: tuple[Path, ...]  # rank k at index k

    @property
    def tp(self) -> int:
        return len(self.paths)


def _names(folder: Path, stem: str, ranks: list[int]) -> str:
    return ", ".join(shard_path(folder, stem, rank).name for rank in ranks)


def _read_trainer(path: Path) -> Mapping[str, Any]:
    trainer = read_checkpoint(path)
    if "model" in trainer or "iteration" not in trainer:
        raise ShardSetError(
            f"{path} is not the trainer file of a tensor-parallel checkpoint (it should hold the iteration and "
            "grad_scaler; the weights are in <name>_model_mp_<k>.pt next to it)"
        )
    return trainer


def find_shard_set(checkpoint: str | Path, tp: int | None = None) -> ShardSet:
    """The checked shard set of ``checkpoint`` (see the module docstring); :class:`ShardSetError` otherwise."""
    checkpoint = Path(checkpoint)
    folder = checkpoint.parent
    parsed = parse_shard_name(checkpoint.name)
    stem = parsed[0] if parsed else checkpoint.stem
    trainer_file = trainer_path(folder, stem)
    if parsed is None and not trainer_file.is_file():
        raise ShardSetError(f"checkpoint {checkpoint} not found")
    trainer = _read_trainer(trainer_file) if trainer_file.is_file() else {}
    iteration = trainer.get("iteration")
    named = iteration_in_name(stem)
    if iteration is not None and named is not None and int(iteration) != named:
        raise ShardSetError(
            f"{trainer_file.name} records iteration {iteration} but is named for iteration {named}: the files come "
            "from different iterations"
        )
    found = shard_ranks(folder, stem)
    if not found:
        raise ShardSetError(f"no shard files {stem}_model_mp_<k>.pt in {folder}")
    expected = tp or int(trainer.get("tp_size") or 0) or found[-1] + 1
    missing = sorted(set(range(expected)) - set(found))
    extra = sorted(set(found) - set(range(expected)))
    if missing or extra:
        problems = [f"missing {_names(folder, stem, missing)}"] if missing else []
        problems += [f"extra {_names(folder, stem, extra)}"] if extra else []
        raise ShardSetError(
            f"{stem} should have {expected} tensor-parallel shards (ranks 0..{expected - 1}) in {folder}: "
            f"{'; '.join(problems)}"
        )
    return ShardSet(
        folder=folder,
        stem=stem,
        trainer=trainer_file if trainer else None,
        iteration=None if iteration is None else int(iteration),
        paths=tuple(shard_path(folder, stem, rank) for rank in range(expected)),
    )


def check_record_iterations(shards: ShardSet, payloads: list[Mapping[str, Any]]) -> None:
    """The reference's ``trained_data_record["iteration"]`` must be the same in every shard."""
    seen = {}
    for path, payload in zip(shards.paths, payloads, strict=True):
        record = payload.get("trained_data_record")
        if isinstance(record, Mapping) and "iteration" in record:
            seen[path.name] = int(record["iteration"])
    if len(set(seen.values())) > 1:
        shown = ", ".join(f"{name}: {value}" for name, value in seen.items())
        raise ShardSetError(f"the shards of {shards.stem} come from different iterations ({shown})")
