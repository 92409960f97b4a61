"""Training checkpoints: a :class:`Checkpointer` protocol and its two layouts.

Both layouts write every file atomically (temporary file, fsync, rename: :mod:`cosmos_core.io`),
never unpickle arbitrary objects when reading (``weights_only=True``), and verify each file's zip
CRCs before loading it, so damaged bytes are reported instead of silently loading wrong weights.

:class:`SingleFileCheckpointer` (Cosmos-Embed1's format) writes one ``torch.save`` file per
checkpoint, ``<prefix>_<iteration>.pth``, holding a dict:

=============  ==================================================================================
``format``     :data:`CHECKPOINT_FORMAT`, so a foreign file is recognised as such
``model``      ``state_dict()`` of the unwrapped training module (whole tensors)
``optimizer``  optimizer state dict
``scheduler``  LR scheduler state dict
``scaler``     fp16 gradient scaler state dict (empty when no scaling is used)
``iteration``  completed optimizer steps
``rng``        list of per-rank RNG states (:func:`cosmos_core.training.rng.capture_rng_state`)
``data``       training sampler state (epoch and position in each data-parallel shard)
``metadata``   plain data from the model family (family name, resolved model config, …)
``callbacks``  state of stateful callbacks, by callback name (EMA weights, …)
=============  ==================================================================================

and ``<prefix>_latest.pth``, a hard link to the newest one (no second copy of the bytes); a run torn
down in the middle of an iteration writes only ``<prefix>_latest.pth``, with its last completed one.

:class:`ShardedCheckpointer` writes one set of files per checkpoint in a layout the family names
(:class:`ShardedLayout`; its defaults are the Cosmos-Transfer1 reference's): a trainer file from
global rank 0, and model / optimizer / scheduler files per tensor-parallel rank (written by the
first data-parallel rank of each tensor-parallel group), then a pointer file naming the trainer file.
The pointer is replaced only after every rank has written its files, so a run killed during a save
resumes from the previous complete checkpoint.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import torch

from cosmos_core.distributed import DistInfo, barrier, gather_objects
from cosmos_core.errors import UserInputError
from cosmos_core.io import link_atomically, remove_stale_temp_files, write_atomically, write_text_atomically
from cosmos_core.training.dtensor_state import has_dtensors, localize

logger = logging.getLogger("cosmos.train")

CHECKPOINT_FORMAT = "cosmos-run/training-checkpoint/v1"
PAYLOAD_KEYS = ("format", "model", "optimizer", "scheduler", "scaler", "iteration", "rng", "data", "metadata")


class CheckpointError(UserInputError, RuntimeError):
    """A checkpoint is missing, unreadable, damaged, or not a cosmos-run training checkpoint."""


@attrs.define
class TrainingState:
    """Everything a resume restores; what the trainer hands a checkpointer and gets back."""

    iteration: int
    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any]
    rng: list[dict[str, Any]]
    """RNG states by global rank (a checkpoint saved without collectives may hold fewer)."""
    data: dict[str, Any]
    callbacks: dict[str, Any] = attrs.field(factory=dict)
    metadata: dict[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Checkpointer(Protocol):
    """Saves and finds training checkpoints; :class:`~cosmos_core.training.Trainer` drives it."""

    folder: Path
    keep_sharded: tuple[str, ...]
    """Mesh dimensions along which tensors stay sharded in the files (``()``: whole tensors)."""

    def prepare(self, dist: DistInfo) -> None:
        """Before training: remove temporaries of a killed save (rank 0)."""

    def save(self, state: TrainingState, dist: DistInfo) -> Path:
        """Write ``state`` (collective: every rank calls). Returns the checkpoint's main file."""

    def save_without_peers(self, state: TrainingState, dist: DistInfo) -> Path | None:
        """Write ``state`` without any collective (the run is being torn down and peers may be gone);
        None when this layout cannot do that for this run."""

    def latest(self) -> Path | None:
        """The newest complete checkpoint in :attr:`folder`, if any."""

    def load(self, path: Path, dist: DistInfo) -> TrainingState:
        """This rank's part of the checkpoint at ``path`` (plain tensors, on the CPU)."""


# -------------------------------------------------------------------------------------------------
# Reading files
# -------------------------------------------------------------------------------------------------


def verify_file(path: Path) -> None:
    """Check the zip CRCs of a ``torch.save`` file; damaged or truncated bytes raise CheckpointError."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile as err:
        raise CheckpointError(f"checkpoint {path} is truncated or not a torch file ({err})") from None
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read: {err.strerror or err}") from None
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {path} is damaged: its record {bad!r} fails the CRC check (bad disk or interrupted "
            "copy); use an earlier checkpoint"
        )


def read_file(path: Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` of a verified file; clear errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist (or is not a file)")
    verify_file(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint {path} holds Python objects other than tensors and plain data (loaded with "
            f"weights_only=True, which never unpickles arbitrary objects): {torch_load_error_detail(err)}"
        ) from None
    except Exception as err:  # damaged bytes surface as RuntimeError, EOFError, IndexError, KeyError, ...
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated or not a torch file?): {torch_load_error_detail(err)}"
        ) from None


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a single-file training checkpoint (see the module docstring for its keys)."""
    path = Path(path)
    payload = read_file(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{path} is not a cosmos-run training checkpoint (format {found!r}, expected "
            f"{CHECKPOINT_FORMAT!r}); to start from foreign weights use the model's pretrained "
            "weights option instead of resuming"
        )
    missing = [key for key in PAYLOAD_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}; the file is incomplete")
    return payload


def torch_load_error_detail(err: BaseException) -> str:
    """The useful part of a ``torch.load`` failure, short enough for a one-line message.

    For the weights-only refusal that is the unpickler's reason ("Unsupported global: GLOBAL x.Y …"),
    not torch's preamble suggesting ``weights_only=False``; otherwise the first line of the error.
    """
    match = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\. Please use|\n\n|$)", str(err), re.DOTALL)
    return match.group(1).strip() if match else _first_line(err)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def atomic_save(obj: Any, path: Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    return write_atomically(Path(path), lambda handle: torch.save(obj, handle))


# -------------------------------------------------------------------------------------------------
# One file per checkpoint
# -------------------------------------------------------------------------------------------------


def iteration_path(output_dir: Path, prefix: str, iteration: int) -> Path:
    return Path(output_dir) / f"{prefix}_{iteration}.pth"


def latest_path(output_dir: Path, prefix: str) -> Path:
    return Path(output_dir) / f"{prefix}_latest.pth"


@attrs.define
class SingleFileCheckpointer:
    """``<prefix>_<iteration>.pth`` and ``<prefix>_latest.pth`` (a hard link) in ``folder``."""

    folder: Path
    prefix: str
    keep_sharded: tuple[str, ...] = ()

    def prepare(self, dist: DistInfo) -> None:
        if dist.is_main:
            for path in remove_stale_temp_files(Path(self.folder)):
                logger.info("removed %s, left by an interrupted save", path)

    def _payload(self, state: TrainingState, model: Any, optimizer: Any, callbacks: Any) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "model": model,
            "optimizer": optimizer,
            "scheduler": state.scheduler,
            "scaler": state.scaler,
            "iteration": state.iteration,
            "rng": state.rng,
            "data": state.data,
            "metadata": state.metadata,
            "callbacks": callbacks,
        }

    def _write(self, payload: dict[str, Any]) -> Path:
        path = atomic_save(payload, iteration_path(self.folder, self.prefix, int(payload["iteration"])))
        link_atomically(path, latest_path(self.folder, self.prefix))
        return path

    def save(self, state: TrainingState, dist: DistInfo) -> Path:
        model, optimizer, callbacks = (localize(part) for part in (state.model, state.optimizer, state.callbacks))
        state.rng = gather_objects(state.rng[0])  # the trainer hands this rank's own state
        path = iteration_path(self.folder, self.prefix, state.iteration)
        if dist.is_main:
            self._write(self._payload(state, model, optimizer, callbacks))
        barrier()
        return path

    def save_without_peers(self, state: TrainingState, dist: DistInfo) -> Path | None:
        """Only ``<prefix>_latest.pth``: an interrupted iteration is not a periodic checkpoint."""
        sharded = has_dtensors([state.model, state.optimizer, state.callbacks])
        if not dist.is_main or (sharded and dist.is_distributed):
            return None  # rank 0 alone holds whole tensors only when nothing is sharded
        model, optimizer, callbacks = (localize(part) for part in (state.model, state.optimizer, state.callbacks))
        return atomic_save(self._payload(state, model, optimizer, callbacks), latest_path(self.folder, self.prefix))

    def latest(self) -> Path | None:
        path = latest_path(self.folder, self.prefix)
        return path if path.is_file() else None

    def load(self, path: Path, dist: DistInfo) -> TrainingState:
        payload = load_checkpoint(path)
        return TrainingState(
            iteration=int(payload["iteration"]),
            model=payload["model"],
            optimizer=payload["optimizer"],
            scheduler=payload["scheduler"],
            scaler=payload["scaler"],
            rng=payload["rng"],
            data=payload["data"],
            callbacks=payload.get("callbacks") or {},
            metadata=payload["metadata"],
        )


# -------------------------------------------------------------------------------------------------
# One file per tensor-parallel rank and part
# -------------------------------------------------------------------------------------------------


@attrs.frozen
class ShardedLayout:
    """File names of a sharded checkpoint, and what a model file holds. The defaults are the
    Cosmos-Transfer1 reference's (``transfer1_layout.md`` §5)."""

    trainer_file: str = "iter_{iteration:09d}.pt"
    shard_file: str = "iter_{iteration:09d}_{part}_mp_{rank}.pt"
    pointer_file: str = "latest_checkpoint.txt"

    def model_payload(self, model: dict[str, Any], callbacks: dict[str, Any]) -> dict[str, Any]:
        """The content of a model file (the reference: ``{"model": ..., "ema": ...}``)."""
        return {"model": model, "callbacks": callbacks}

    def split_model_payload(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Inverse of :meth:`model_payload`: the model state and the callbacks' states."""
        return dict(payload["model"]), dict(payload.get("callbacks") or {})

    def trainer_name(self, iteration: int) -> str:
        return self.trainer_file.format(iteration=iteration)

    def shard_name(self, iteration: int, part: str, rank: int) -> str:
        return self.shard_file.format(iteration=iteration, part=part, rank=rank)

    def iteration_of(self, trainer_name: str) -> int | None:
        pattern = re.escape(self.trainer_file).replace(re.escape("{iteration:09d}"), r"(\d+)")
        match = re.fullmatch(pattern, trainer_name)
        return int(match.group(1)) if match else None


SHARD_PARTS = ("model", "optim", "scheduler")


@attrs.define
class ShardedCheckpointer:
    """Per-rank files in ``folder`` named by ``layout``; tensors stay sharded along ``tp``."""

    folder: Path
    layout: ShardedLayout = ShardedLayout()
    keep_sharded: tuple[str, ...] = ("tp",)

    def prepare(self, dist: DistInfo) -> None:
        if dist.is_main:
            for path in remove_stale_temp_files(Path(self.folder)):
                logger.info("removed %s, left by an interrupted save", path)

    def _write_files(self, state: TrainingState, dist: DistInfo, model: Any, optimizer: Any, callbacks: Any) -> Path:
        folder, layout, it = Path(self.folder), self.layout, state.iteration
        if dist.dp_rank == 0:  # one writer per tensor-parallel rank
            parts = {
                "model": layout.model_payload(model, callbacks),
                "optim": optimizer,
                "scheduler": state.scheduler,
            }
            for part, payload in parts.items():
                atomic_save(payload, folder / layout.shard_name(it, part, dist.tp_rank))
        trainer = folder / layout.trainer_name(it)
        if dist.is_main:
            atomic_save(
                {
                    "format": CHECKPOINT_FORMAT,
                    "grad_scaler": state.scaler,
                    "iteration": it,
                    "rng": state.rng,
                    "data": state.data,
                    "metadata": state.metadata,
                    "tp_size": dist.tp_size,
                    "world_size": dist.world_size,
                },
                trainer,
            )
        return trainer

    def _point_to(self, trainer: Path) -> None:
        write_text_atomically(Path(self.folder) / self.layout.pointer_file, f"{trainer.name}\n")

    def save(self, state: TrainingState, dist: DistInfo) -> Path:
        keep = self.keep_sharded
        model, optimizer, callbacks = (localize(part, keep) for part in (state.model, state.optimizer, state.callbacks))
        state.rng = gather_objects(state.rng[0])  # the trainer hands this rank's own state
        trainer = self._write_files(state, dist, model, optimizer, callbacks)
        barrier()  # every shard is on disk before the pointer names this checkpoint
        if dist.is_main:
            self._point_to(trainer)
        return trainer

    def save_without_peers(self, state: TrainingState, dist: DistInfo) -> Path | None:
        if dist.is_distributed:
            return None  # without the peers nobody can tell that every shard was written
        parts = (localize(part, self.keep_sharded) for part in (state.model, state.optimizer, state.callbacks))
        trainer = self._write_files(state, dist, *parts)
        self._point_to(trainer)
        return trainer

    def latest(self) -> Path | None:
        pointer = Path(self.folder) / self.layout.pointer_file
        if not pointer.is_file():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        path = Path(self.folder) / name
        if not name or not path.is_file():
            raise CheckpointError(
                f"{pointer} names {name!r}, which does not exist in {self.folder}; restore that file or delete "
                "the pointer to start without resuming"
            )
        return path

    def load(self, path: Path, dist: DistInfo) -> TrainingState:
        path = Path(path)
        trainer = read_file(path)
        if not isinstance(trainer, dict) or trainer.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path} is not the trainer file of a cosmos-run sharded checkpoint")
        iteration = int(trainer["iteration"])
        self._check_shards(path, iteration, dist)
        shard = {
            part: read_file(path.parent / self.layout.shard_name(iteration, part, dist.tp_rank)) for part in SHARD_PARTS
        }
        model, callbacks = self.layout.split_model_payload(shard["model"])
        return TrainingState(
            iteration=iteration,
            model=model,
            optimizer=shard["optim"],
            scheduler=shard["scheduler"],
            scaler=trainer.get("grad_scaler") or {},
            rng=trainer.get("rng") or [],
            data=trainer.get("data") or {},
            callbacks=callbacks,
            metadata=trainer.get("metadata") or {},
        )

    def _check_shards(self, path: Path, iteration: int, dist: DistInfo) -> None:
        """Every part has exactly one file per tensor-parallel rank of this run."""
        problems = []
        for part in SHARD_PARTS:
            pattern = re.escape(self.layout.shard_name(iteration, part, 0)).replace(r"mp_0", r"mp_(\d+)")
            ranks = sorted(int(m.group(1)) for item in path.parent.iterdir() if (m := re.fullmatch(pattern, item.name)))
            if ranks != list(range(dist.tp_size)):
                problems.append(f"{part}: tensor-parallel ranks {ranks or 'none'}")
        if problems:
            raise CheckpointError(
                f"checkpoint {path} does not fit this run's tensor parallelism ({dist.tp_size}): found "
                f"{'; '.join(problems)}, expected ranks 0..{dist.tp_size - 1}. Use the tensor-parallel size it "
                "was written with, or convert it (merge_tp / convert_tp)"
            )
