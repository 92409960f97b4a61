"""decord backend: random access by frame index (decord seeks or decodes ahead as it sees fit)."""

from __future__ import annotations

from collections.abc import Callable

import decord
import numpy as np

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video.sampling import VideoInfo


def read_frames(path: str, choose: Callable[[VideoInfo], list[int]]) -> np.ndarray:
    """Decode the frames ``choose(info)`` picks; RGB uint8 ``[T, H, W, 3]``."""
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0))
        info = VideoInfo(num_frames=len(reader), fps=float(reader.get_avg_fps()))
        if info.num_frames == 0:
            raise VideoDecodeError(path, "the video has no frames")
        indices = choose(info)
        unique = sorted(set(indices))
        decoded = reader.get_batch(unique).asnumpy()
    except (decord.DECORDError, RuntimeError) as err:
        raise VideoDecodeError(path, f"decord could not decode it ({_first_line(err)})") from err
    if decoded.ndim != 4 or decoded.shape[-1] != 3:
        raise VideoDecodeError(path, f"decord returned frames of shape {decoded.shape[1:]}, not H x W x 3")
    position = {index: row for row, index in enumerate(unique)}
    return decoded[[position[i] for i in indices]]


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
