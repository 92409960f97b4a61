"""``read_clip``: a uniformly sampled, resized uint8 clip from a video file."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video.pyav_backend import read_frames as pyav_read_frames
from cosmos_datasets.video.resize import resize_frames
from cosmos_datasets.video.sampling import VideoInfo, check_window, clip_indices

BACKENDS = ("decord", "pyav")
logger = logging.getLogger(__name__)
_warned_decord_retry = False  # warn about decord failures that PyAV decoded once per process


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


def read_clip(
    path: str | os.PathLike[str],
    num_frames: int,
    resolution: Sequence[int],
    backend: str = "decord",
    start_sec: float | None = None,
    end_sec: float | None = None,
) -> torch.Tensor:
    """``num_frames`` frames sampled uniformly over the video (or ``[start_sec, end_sec]``).

    Returns uint8 ``[T, 3, H, W]`` resized to ``resolution = (H, W)`` with antialiased bilinear
    interpolation; a clip shorter than ``num_frames`` repeats its frames evenly. Raises
    :class:`VideoDecodeError` for a missing, corrupt, truncated or empty video.
    """
    path = os.fspath(path)
    height, width = resolution
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    check_window(start_sec, end_sec)
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "no such file", missing=True)

    def choose(info: VideoInfo) -> list[int]:
        return clip_indices(info, num_frames, start_sec, end_sec)

    if resolve_backend(backend) == "decord":
        from cosmos_datasets.video import decord_backend

        try:
            decoded = decord_backend.read_frames(path, choose)
        except VideoDecodeError as decord_error:
            # decord 0.6 (unreleased since 2021) rejects some valid files, e.g. frame widths of 16 or
            # 48 pixels; PyAV gets the final say before a video counts as undecodable.
            decoded = _retry_with_pyav(path, choose, decord_error)
    else:
        decoded = pyav_read_frames(path, choose)
    frames = torch.from_numpy(decoded).permute(0, 3, 1, 2)
    return resize_frames(frames, (height, width)).contiguous()


def _retry_with_pyav(
    path: str, choose: Callable[[VideoInfo], list[int]], decord_error: VideoDecodeError
) -> np.ndarray:
    try:
        decoded = pyav_read_frames(path, choose)
    except VideoDecodeError as error:
        raise VideoDecodeError(path, f"{error.reason}; {decord_error.reason}") from error
    global _warned_decord_retry
    if not _warned_decord_retry:
        _warned_decord_retry = True
        logger.warning(
            "decord could not decode %s (%s); decoded it with PyAV instead", path, decord_error.reason
        )
    return decoded
