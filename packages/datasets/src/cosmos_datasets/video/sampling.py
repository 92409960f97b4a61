"""Which frames of a clip to decode: uniform sampling over the whole clip or a time window."""

from __future__ import annotations

import math

import attrs


@attrs.frozen
class VideoInfo:
    """What a decoder knows about a video before decoding frames."""

    num_frames: int
    fps: float


def check_window(start_sec: float | None, end_sec: float | None) -> None:
    """Reject a time window that cannot hold a frame, before any file is opened."""
    if start_sec is not None and start_sec < 0:
        raise ValueError(f"start_sec must be >= 0, got {start_sec}")
    if end_sec is not None and end_sec <= (start_sec or 0.0):
        raise ValueError(f"end_sec ({end_sec}) must be greater than start_sec ({start_sec or 0.0})")


def window_frames(info: VideoInfo, start_sec: float | None, end_sec: float | None) -> tuple[int, int]:
    """The frame range ``[first, stop)`` covered by a time window (the whole clip when both are None).

    A window reaching past the end of the video is clamped to it (chunk boundaries in metadata are
    often rounded up), and it always holds at least one frame.
    """
    check_window(start_sec, end_sec)
    # The small epsilon keeps 3.0 s at 30 fps at frame 90 despite float error.
    first = 0 if start_sec is None else math.floor(start_sec * info.fps + 1e-6)
    stop = info.num_frames if end_sec is None else math.ceil(end_sec * info.fps - 1e-6)
    first = min(max(first, 0), info.num_frames - 1)
    stop = min(max(stop, first + 1), info.num_frames)
    return first, stop


def uniform_indices(first: int, stop: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``[first, stop)``, one at the centre of each segment.

    A range shorter than ``count`` repeats its frames evenly (every frame is used, in order), so a
    short clip is padded by repetition rather than with blank frames.
    """
    length = stop - first
    if length < 1 or count < 1:
        raise ValueError(f"need a non-empty frame range and count >= 1, got [{first}, {stop}) and {count}")
    return [first + min(length - 1, int((i + 0.5) * length / count)) for i in range(count)]


def clip_indices(
    info: VideoInfo, count: int, start_sec: float | None = None, end_sec: float | None = None
) -> list[int]:
    """Frame indices to decode for ``count`` frames of the clip (or of its time window)."""
    first, stop = window_frames(info, start_sec, end_sec)
    return uniform_indices(first, stop, count)
