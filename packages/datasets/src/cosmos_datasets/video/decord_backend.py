"""decord backend: random access by frame index, resized and rotated by decord's own FFmpeg filters.

decord seeks or decodes ahead as it sees fit. Passing the target size to ``VideoReader`` makes FFmpeg
scale each frame (swscale bilinear, which widens its filter when shrinking, so it antialiases) while
converting it to RGB; that is cheaper than converting at full size and resizing afterwards. With a
target size decord also applies the display rotation of phone videos (without one it returns
4-channel frames for 180-degree videos), so every file is opened with the target size.
"""

from __future__ import annotations

from collections.abc import Callable

import decord
import numpy as np

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video.sampling import VideoInfo


def read_frames(
    path: str, choose: Callable[[VideoInfo], list[int]], size: tuple[int, int], threads: int = 0
) -> np.ndarray:
    """Decode the frames ``choose(info)`` picks as RGB uint8 ``[T, H, W, 3]`` with ``(H, W) = size``.

    ``threads`` is decord's decoder thread count (0: FFmpeg's choice).
    """
    height, width = size
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0), width=width, height=height, num_threads=threads)
        num_frames = len(reader)
        if num_frames == 0:
            raise VideoDecodeError(path, "the video has no frames")
        starts = reader.get_frame_timestamp(np.arange(num_frames))[:, 0]
        info = VideoInfo(num_frames, float(reader.get_avg_fps()), tuple((starts - starts[0]).tolist()))
        indices = choose(info)
        unique = sorted(set(indices))
        decoded = reader.get_batch(unique).asnumpy()
    except (decord.DECORDError, RuntimeError) as err:
        raise VideoDecodeError(path, f"decord could not decode it ({_first_line(err)})") from err
    if decoded.shape[1:] != (height, width, 3):
        raise VideoDecodeError(path, f"decord returned frames of shape {decoded.shape[1:]}, not {height} x {width} x 3")
    position = {index: row for row, index in enumerate(unique)}
    return decoded[[position[i] for i in indices]]


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
