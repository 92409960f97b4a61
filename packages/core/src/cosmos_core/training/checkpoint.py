"""Training checkpoints: written atomically, read without unpickling arbitrary objects.

A checkpoint is one ``torch.save`` file holding a dict:

=============  ==================================================================================
``format``     :data:`CHECKPOINT_FORMAT`, so a foreign file is recognised as such
``model``      ``state_dict()`` of the unwrapped training module (what the module chooses to save)
``optimizer``  optimizer state dict
``scheduler``  LR scheduler state dict
``scaler``     fp16 gradient scaler state dict (empty when no scaling is used)
``iteration``  completed optimizer steps
``rng``        list of per-rank RNG states (:func:`cosmos_core.training.rng.capture_rng_state`)
``data``       training sampler state (epoch and position in this rank's shard)
``metadata``   plain data from the model family (family name, resolved model config, …)
=============  ==================================================================================

Files are ``<prefix>_<iteration>.pth`` plus ``<prefix>_latest.pth``. Each is written to a temporary
file in the same folder, flushed and fsynced, then moved over the target with :func:`os.replace`,
so a crash or a full disk never leaves a truncated ``latest``.
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from cosmos_core.errors import UserInputError

CHECKPOINT_FORMAT = "cosmos-run/training-checkpoint/v1"
PAYLOAD_KEYS = ("format", "model", "optimizer", "scheduler", "scaler", "iteration", "rng", "data", "metadata")


class CheckpointError(UserInputError, RuntimeError):
    """A checkpoint is missing, unreadable, or not a cosmos-run training checkpoint."""


def iteration_path(output_dir: Path, prefix: str, iteration: int) -> Path:
    return Path(output_dir) / f"{prefix}_{iteration}.pth"


def latest_path(output_dir: Path, prefix: str) -> Path:
    return Path(output_dir) / f"{prefix}_latest.pth"


def _write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: that creates the file 0600, so checkpoints would be unreadable by the group
    # and by tools run as other users. open(..., "xb") gives the usual permissions (0666 minus the umask,
    # default ACLs honoured) and, like mkstemp, never reuses an existing file.
    tmp_path = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    created = False  # on a name clash the existing file is not ours to delete
    try:
        with open(tmp_path, "xb") as handle:
            created = True
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if created:
            tmp_path.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_save(obj: Any, path: Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    _write_atomically(Path(path), lambda handle: torch.save(obj, handle))
    return Path(path)


def atomic_copy(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` atomically."""

    def copy(handle: IO[bytes]) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle, length=16 * 1024 * 1024)

    _write_atomically(Path(target), copy)
    return Path(target)


def save_checkpoint(payload: dict[str, Any], output_dir: Path, prefix: str) -> Path:
    """Write ``<prefix>_<iteration>.pth`` and replace ``<prefix>_latest.pth`` with a copy of it."""
    path = atomic_save(payload, iteration_path(output_dir, prefix, int(payload["iteration"])))
    atomic_copy(path, latest_path(output_dir, prefix))
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training checkpoint with ``weights_only=True``; clear errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist (or is not a file)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or holds Python objects other than tensors and plain data "
            "(loaded with weights_only=True, which never unpickles arbitrary objects): "
            f"{torch_load_error_detail(err)}"
        ) from None
    except Exception as err:  # damaged bytes surface as RuntimeError, EOFError, IndexError, KeyError, ...
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated or not a torch file?): {torch_load_error_detail(err)}"
        ) from None
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
