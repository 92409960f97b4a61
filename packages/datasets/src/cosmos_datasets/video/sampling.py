"""Which frames of a clip to decode: uniform sampling in time over the whole clip or a time window.

Sampling works on presentation times, so a variable-frame-rate video is sampled evenly in time
rather than evenly in frame count; for a constant frame rate the two agree.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import attrs

# Times read from containers carry rounding error; 3.0 s at 30 fps must stay frame 90.
_EPS = 1e-6


@attrs.frozen
class VideoInfo:
    """What a decoder knows about a video before decoding frames.

    ``times`` holds every frame's presentation time in seconds, counted from the first frame and in
    presentation order; ``None`` means frame ``i`` is shown at ``i / fps``.
    """

    num_frames: int
    fps: float
    times: tuple[float, ...] | None = None

    def frame_times(self) -> Sequence[float]:
        if self.times is not None:
            return self.times
        return [i / self.fps for i in range(self.num_frames)]

    def frame_duration(self) -> float:
        """How long the last frame is shown: one average frame interval."""
        if self.fps > 0:
            return 1.0 / self.fps
        times = self.frame_times()
        return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 1.0


def check_window(start_sec: float | None, end_sec: float | None) -> None:
    """Reject a time window that cannot hold a frame, before any file is opened."""
    if start_sec is not None and start_sec < 0:
        raise ValueError(f"start_sec must be >= 0, got {start_sec}")
    if end_sec is not None and end_sec <= (start_sec or 0.0):
        raise ValueError(f"end_sec ({end_sec}) must be greater than start_sec ({start_sec or 0.0})")


def window_frames(info: VideoInfo, start_sec: float | None, end_sec: float | None) -> tuple[int, int]:
    """The frame range ``[first, stop)`` shown during a time window (the whole clip when both are None).

    ``first`` is the frame on screen at ``start_sec``; ``stop`` counts the frames that start before
    ``end_sec``. A window reaching past the end of the video is clamped to it (chunk boundaries in
    metadata are often rounded up), and it always holds at least one frame.
    """
    check_window(start_sec, end_sec)
    if info.num_frames < 1:
        raise ValueError("the video has no frames")
    times = info.frame_times()
    first = 0 if start_sec is None else bisect.bisect_right(times, start_sec + _EPS) - 1
    stop = info.num_frames if end_sec is None else bisect.bisect_left(times, end_sec - _EPS)
    first = min(max(first, 0), info.num_frames - 1)
    stop = min(max(stop, first + 1), info.num_frames)
    return first, stop


def clip_indices(
    info: VideoInfo, count: int, start_sec: float | None = None, end_sec: float | None = None
) -> list[int]:
    """``count`` frame indices spread evenly in time over the clip (or its time window).

    The time span (the window, clipped to the video) is cut into ``count`` equal segments and the
    frame on screen at each segment's centre is taken, so a clip with fewer frames than ``count``
    repeats its frames evenly (padding by repetition, never with blank frames).
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    first, stop = window_frames(info, start_sec, end_sec)
    times = info.frame_times()
    video_end = times[-1] + info.frame_duration()
    span_start = times[first]
    if start_sec is not None and start_sec < video_end:
        span_start = max(span_start, start_sec)
    span_end = times[stop] if stop < info.num_frames else video_end
    if end_sec is not None:
        span_end = min(span_end, end_sec)
    step = max(span_end - span_start, 0.0) / count
    indices = []
    for i in range(count):
        shown = bisect.bisect_right(times, span_start + (i + 0.5) * step + _EPS) - 1
        indices.append(min(max(shown, first), stop - 1))
    return indices
