"""``read_clip``: a uniformly sampled, resized, upright uint8 clip from a video file."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import get_worker_info

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video import pyav_backend
from cosmos_datasets.video.probe import refuse_still_image
from cosmos_datasets.video.sampling import VideoInfo, check_window, clip_indices

BACKENDS = ("decord", "pyav")
logger = logging.getLogger(__name__)
_warned_decord_retry = False  # warn about decord failures that PyAV decoded once per process

ReadFrames = Callable[[str, Callable[[VideoInfo], list[int]], tuple[int, int], int], np.ndarray]


@functools.cache
def resolve_backend(name: str) -> str:
    """The backend that will actually decode for the configured ``name``.

    decord is an optional extra (``cosmos-datasets[decord]``); without it ``"decord"`` falls back to
    PyAV, which is always installed, with one warning per process.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown decode_backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "decord" and importlib.util.find_spec("decord") is None:
        warnings.warn(
            "decode_backend 'decord' is not installed; decoding with PyAV instead "
            "(pip install 'cosmos-datasets[decord]' for decord, or set decode_backend: pyav to silence this)",
            stacklevel=2,
        )
        return "pyav"
    return name


def decoder_threads() -> int:
    """One decoder thread inside a DataLoader worker (the workers are the parallelism), else FFmpeg's choice."""
    return 1 if get_worker_info() is not None else 0


def read_clip(
    path: str | os.PathLike[str],
    num_frames: int,
    resolution: Sequence[int],
    backend: str = "decord",
    start_sec: float | None = None,
    end_sec: float | None = None,
) -> torch.Tensor:
    """``num_frames`` frames sampled uniformly in time over the video (or ``[start_sec, end_sec]``).

    Returns uint8 ``[T, 3, H, W]`` of ``resolution = (H, W)``: frames are scaled with bilinear
    interpolation that antialiases when shrinking (no crop, aspect ratio not kept) and turned upright
    by the file's display rotation. A clip shorter than ``num_frames`` repeats its frames evenly.
    Raises :class:`VideoDecodeError` for a missing, corrupt, truncated, empty or audio-only file, a
    still image under a video's name, and for any other failure inside a decoder, so one bad file
    never ends a run.
    """
    path = os.fspath(path)
    height, width = (int(v) for v in resolution)
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    check_window(start_sec, end_sec)
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "no such file", missing=True)
    refuse_still_image(path)

    def choose(info: VideoInfo) -> list[int]:
        return clip_indices(info, num_frames, start_sec, end_sec)

    size = (height, width)
    threads = decoder_threads()
    if resolve_backend(backend) == "decord":
        from cosmos_datasets.video import decord_backend

        try:
            decoded = _guarded(decord_backend.read_frames, path, choose, size, threads)
        except VideoDecodeError as decord_error:
            # decord 0.6 (unreleased since 2021) rejects some valid files, e.g. frame widths of 16 or
            # 48 pixels; PyAV gets the final say before a video counts as undecodable.
            decoded = _retry_with_pyav(path, choose, size, threads, decord_error)
    else:
        decoded = _guarded(pyav_backend.read_frames, path, choose, size, threads)
    return torch.from_numpy(decoded).permute(0, 3, 1, 2).contiguous()


def _guarded(
    read: ReadFrames,
    path: str,
    choose: Callable[[VideoInfo], list[int]],
    size: tuple[int, int],
    threads: int,
) -> np.ndarray:
    """Run a backend; an unexpected exception on an odd file becomes a VideoDecodeError naming it."""
    try:
        return read(path, choose, size, threads)
    except VideoDecodeError:
        raise
    except Exception as err:  # noqa: BLE001 - any decoder failure must skip the file, not kill the worker
        raise VideoDecodeError(path, f"{type(err).__name__} while decoding: {err}") from err


def _retry_with_pyav(
    path: str,
    choose: Callable[[VideoInfo], list[int]],
    size: tuple[int, int],
    threads: int,
    decord_error: VideoDecodeError,
) -> np.ndarray:
    try:
        decoded = _guarded(pyav_backend.read_frames, path, choose, size, threads)
    except VideoDecodeError as error:
        raise VideoDecodeError(path, f"{error.reason}; {decord_error.reason}") from error
    global _warned_decord_retry
    if not _warned_decord_retry:
        _warned_decord_retry = True
        logger.warning("decord could not decode %s (%s); decoded it with PyAV instead", path, decord_error.reason)
    return decoded
