"""Splitting a consolidated Transfer1 checkpoint into tensor-parallel shards (``convert_tp``).

The rule and the files are the reference's ``scripts/convert_ckpt_fsdp_to_tp.py`` (layout §3): keys ending
in ``to_q.0.weight``, ``to_k.0.weight``, ``to_v.0.weight`` or ``block.layer1.weight`` are ``torch.chunk``-ed
along dim 0, ``to_out.0.weight`` and ``block.layer2.weight`` along dim 1, ``_extra_state`` entries are
dropped and everything else goes whole to every rank; ``<dir>/checkpoints_tp/<name>.pt`` holds
``{"grad_scaler": {}, "iteration": 0}`` and ``<name>_model_mp_{k}.pt`` holds ``{"model": shard, "ema": None}``.

The reference loads the whole file and saves ``chunk`` views, and ``torch.save`` of a view writes the
whole storage behind it, so each of its shard files carries every split tensor whole. Here one rank's
shard is built at a time from a bounded memory map (:mod:`cosmos_transfer.tp.reader`), its pieces copied,
so each file holds only its own bytes and memory stays near one shard. Everything is checked before the
first file is written; each file is written atomically, the trainer file last.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from cosmos_core.training.checkpoint import atomic_save

from cosmos_transfer.model.loading import read_checkpoint, select_state
from cosmos_transfer.model.params import split_dim
from cosmos_transfer.tp.errors import ConversionError
from cosmos_transfer.tp.files import SPLIT_FOLDER, parse_shard_name, shard_path, shard_ranks, trainer_path
from cosmos_transfer.tp.progress import byte_progress
from cosmos_transfer.tp.reader import DEFAULT_WINDOW, StateReader, tensor_bytes
from cosmos_transfer.tp.recognize import check_divisible, check_transfer1, without_extra_state

DEFAULT_TP = 8  # the reference's TP_SIZE
TRAINER_PAYLOAD = {"grad_scaler": {}, "iteration": 0}


@dataclasses.dataclass(frozen=True)
class SplitPlan:
    """A checked conversion: what is read, what is written."""

    checkpoint: Path
    tp: int
    source: str  # "flat", "model" or "ema": which part of the file is split
    heads: int
    keys: tuple[str, ...]  # the tensors split or copied, in file order (``_extra_state`` left out)
    dropped_extra_state: int
    output_dir: Path
    prefer_ema: bool
    shard_bytes: int  # bytes of one rank's tensors

    @property
    def stem(self) -> str:
        return self.checkpoint.stem

    @property
    def trainer_file(self) -> Path:
        return trainer_path(self.output_dir, self.stem)

    @property
    def shard_files(self) -> list[Path]:
        return [shard_path(self.output_dir, self.stem, rank) for rank in range(self.tp)]


def _selector(prefer_ema: bool):
    return lambda checkpoint: select_state(checkpoint, prefer_ema)[1]


def plan_split(
    checkpoint: str | Path, tp: int = DEFAULT_TP, *, prefer_ema: bool = True, output_dir: str | Path | None = None
) -> SplitPlan:
    """Check that ``checkpoint`` can be split ``tp`` ways (reading no tensor data) and say where to.

    ``prefer_ema``: when the file holds a non-empty ``"ema"`` (``-`` names) take it, as the reference's
    base-model loader does; otherwise ``"model"``, otherwise the file itself (a flat state dict).
    """
    checkpoint = Path(checkpoint)
    if parse_shard_name(checkpoint.name):
        raise ConversionError(
            f"{checkpoint} is one tensor-parallel shard; convert_tp splits a whole checkpoint (merge_tp joins shards)"
        )
    reader = StateReader(checkpoint, _selector(prefer_ema))
    source = select_state(read_checkpoint(checkpoint), prefer_ema)[0]  # the pickle again, no tensor data
    heads = check_transfer1(checkpoint, reader.layout)
    check_divisible(checkpoint, reader.layout, heads, tp)
    kept = without_extra_state(reader.layout)
    folder = Path(output_dir) if output_dir is not None else checkpoint.parent / SPLIT_FOLDER
    stale = [rank for rank in shard_ranks(folder, checkpoint.stem) if rank >= tp]
    if stale:
        names = ", ".join(shard_path(folder, checkpoint.stem, rank).name for rank in stale)
        raise ConversionError(
            f"{folder} already holds {names} from a split into more than {tp} shards; remove them (or give "
            "another output folder) so that the folder holds one shard set"
        )
    shard_bytes = sum(tensor_bytes(_piece(key, value, tp, 0)) for key, value in kept.items())
    return SplitPlan(
        checkpoint=checkpoint,
        tp=tp,
        source=source,
        heads=heads,
        keys=tuple(kept),
        dropped_extra_state=len(reader.layout) - len(kept),
        output_dir=folder,
        prefer_ema=prefer_ema,
        shard_bytes=shard_bytes,
    )


def _piece(key: str, value: torch.Tensor, tp: int, rank: int) -> torch.Tensor:
    """``rank``'s part of ``value`` under the split rule (a view)."""
    dim = split_dim(key)
    return value if dim is None or tp == 1 else value.chunk(tp, dim=dim)[rank]


def split_checkpoint(plan: SplitPlan, *, window: int = DEFAULT_WINDOW, progress: bool = True) -> list[Path]:
    """Write the shards of ``plan`` one rank at a time, then the trainer file. Returns every file written."""
    reader = StateReader(plan.checkpoint, _selector(plan.prefer_ema), window)
    written = []
    with byte_progress(plan.tp * plan.shard_bytes, f"convert_tp {plan.stem}", enabled=progress) as bar:
        for rank, path in enumerate(plan.shard_files):
            shard = {}
            for key in plan.keys:
                shard[key] = _piece(key, reader.get(key), plan.tp, rank).contiguous().clone()
                bar.update(tensor_bytes(shard[key]))
            reader.release()
            atomic_save({"model": shard, "ema": None}, path)
            written.append(path)
            del shard
    written.append(atomic_save(dict(TRAINER_PAYLOAD), plan.trainer_file))
    return written
