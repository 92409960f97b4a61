"""File names of tensor-parallel shard sets and consolidated exports (layout §3–§5).

A shard set is ``<stem>.pt`` (the trainer file: ``{"grad_scaler": {}, "iteration": 0}`` from the converter,
``iter_{N:09d}.pt`` with the trainer state from training) and ``<stem>_model_mp_{k}.pt`` for every
tensor-parallel rank ``k`` (training also writes ``_optim_mp_{k}`` and ``_scheduler_mp_{k}``, which
conversion does not need). ``convert_tp`` writes into ``checkpoints_tp/`` next to its input;
``merge_tp`` into ``fsdp_checkpoints/`` next to the folder of its shards, as the reference's
``convert_ckpt_tp_to_fsdp.py`` turns ``<job>/checkpoints/`` into ``<job>/fsdp_checkpoints/``.
"""

from __future__ import annotations

import re
from pathlib import Path

SPLIT_FOLDER = "checkpoints_tp"
MERGE_FOLDER = "fsdp_checkpoints"
SHARD_SUFFIX = "_model_mp_{rank}.pt"
_SHARD = re.compile(r"^(?P<stem>.+)_model_mp_(?P<rank>\d+)\.pt$")
_ITERATION = re.compile(r"^iter_(\d+)$")


def shard_path(folder: Path, stem: str, rank: int) -> Path:
    return Path(folder) / (stem + SHARD_SUFFIX.format(rank=rank))


def trainer_path(folder: Path, stem: str) -> Path:
    return Path(folder) / f"{stem}.pt"


def shard_ranks(folder: Path, stem: str) -> list[int]:
    """Ranks ``k`` of the ``<stem>_model_mp_{k}.pt`` files in ``folder``, sorted."""
    if not Path(folder).is_dir():
        return []
    ranks = []
    for item in Path(folder).iterdir():
        match = _SHARD.match(item.name)
        if match and match.group("stem") == stem and item.is_file():
            ranks.append(int(match.group("rank")))
    return sorted(ranks)


def parse_shard_name(name: str) -> tuple[str, int] | None:
    """``(stem, rank)`` of a ``<stem>_model_mp_{k}.pt`` file name, else None."""
    match = _SHARD.match(name)
    return (match.group("stem"), int(match.group("rank"))) if match else None


def iteration_in_name(stem: str) -> int | None:
    """N of a training checkpoint's ``iter_{N:09d}`` stem."""
    match = _ITERATION.match(stem)
    return int(match.group(1)) if match else None


def reg_model_name(stem: str) -> str:
    return f"{stem}_reg_model.pt"


def ema_model_name(stem: str, include_base_model: bool) -> str:
    """``_ema_model.pt`` with the base model's keys, ``_ema_model_only.pt`` without (the default)."""
    return f"{stem}_ema_model.pt" if include_base_model else f"{stem}_ema_model_only.pt"
