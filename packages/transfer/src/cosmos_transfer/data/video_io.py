"""Decoding contiguous frame windows and writing mp4 files with PyAV.

Training reads one window of consecutive frames (121 in the 7B recipe) per sample, by frame index,
as the reference's ``decord.VideoReader.get_batch(range(s, s + 121))`` does. :func:`probe_video`
demuxes the packets once (no decoding) to learn how many frames there are, their presentation
times and where the keyframes are; :func:`read_window` then seeks to the keyframe before the window
and decodes forward. Each frame is scaled while it is converted to RGB (swscale bicubic, which
widens its filter when shrinking), so a resized window costs what a full-size one does.
"""

from __future__ import annotations

import bisect
import fractions
import os
from collections.abc import Iterator
from pathlib import Path

import attrs
import av
import numpy as np
from av.video.reformatter import VideoReformatter
from cosmos_core.io import make_dirs, temp_path_for
from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video.reader import decoder_threads

DEFAULT_FPS = 24.0
"""The frame rate assumed when a file states none (the reference's fallback)."""

ENCODER_OPTIONS = {"crf": "18", "preset": "veryfast"}
"""libx264 settings of the mp4 files we write (clips, depth videos): visually lossless, fast."""


@attrs.frozen
class VideoProbe:
    """What the container says about a video's first stream, without decoding it."""

    path: str
    width: int
    height: int
    fps: float
    pts: tuple[int, ...]
    """Presentation timestamps of all frames, sorted (frame ``i`` is shown at ``pts[i]``)."""
    keyframes: tuple[int, ...]
    time_base: fractions.Fraction

    @property
    def num_frames(self) -> int:
        return len(self.pts)

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return self.height, self.width

    def time_of(self, index: int) -> float:
        """Seconds from the first frame to frame ``index``."""
        return float((self.pts[index] - self.pts[0]) * self.time_base)


def probe_video(path: str | os.PathLike[str]) -> VideoProbe:
    """Frame count, size, frame rate and keyframes of ``path``; :class:`VideoDecodeError` if unreadable."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "no such file", missing=True)
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "the file has no video stream")
            stream = container.streams.video[0]
            pts: list[int] = []
            keyframes: list[int] = []
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keyframes.append(packet.pts)
            if not pts:
                raise VideoDecodeError(path, "the video has no frames")
            fps = float(stream.average_rate) if stream.average_rate else DEFAULT_FPS
            return VideoProbe(
                path=path,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=fps,
                pts=tuple(sorted(pts)),
                keyframes=tuple(sorted(keyframes)),
                time_base=stream.time_base,
            )
    except (av.FFmpegError, OSError) as err:
        raise VideoDecodeError(path, f"PyAV could not open it ({err})") from err


def iter_window(
    path: str | os.PathLike[str],
    start: int,
    count: int,
    size: tuple[int, int] | None = None,
    *,
    probe: VideoProbe | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Frames ``start .. start + count - 1`` (presentation order), each as its R, G and B planes ``[h, w]``.

    ``size = (h, w)`` scales while converting (bicubic); None keeps the stored size. The planes are
    views of the decoder's frame, valid until the next one is asked for; planar output is also what
    swscale scales fastest (about a third faster than packed RGB here). Raises
    :class:`VideoDecodeError` when the file is unreadable or holds fewer frames than the window needs.
    """
    path = os.fspath(path)
    probe = probe or probe_video(path)
    if start < 0 or count < 1 or start + count > probe.num_frames:
        raise VideoDecodeError(
            path, f"has {probe.num_frames} frames; frames {start}..{start + count - 1} were asked for"
        )
    height, width = size or probe.size
    first = probe.pts[start]
    position = bisect.bisect_right(probe.keyframes, first)
    seek_to = probe.keyframes[position - 1] if position else first
    delivered = 0
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_count = decoder_threads()
            container.seek(seek_to, stream=stream, backward=True)
            reformatter = VideoReformatter()  # one scaler for the window, not one per frame
            for frame in container.decode(stream):
                if frame.pts is None or frame.pts < first:
                    continue
                planar = reformatter.reformat(frame, width=width, height=height, format="gbrp", interpolation="BICUBIC")
                green, blue, red = (
                    np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)[:, :width]
                    for plane in planar.planes
                )
                yield red, green, blue
                delivered += 1
                if delivered == count:
                    return
    except (av.FFmpegError, OSError) as err:
        raise VideoDecodeError(path, f"PyAV could not decode it ({err})") from err
    raise VideoDecodeError(path, f"the stream ended after {delivered} of the {count} frames from {start} (truncated?)")


def read_window(
    path: str | os.PathLike[str],
    start: int,
    count: int,
    size: tuple[int, int] | None = None,
    *,
    probe: VideoProbe | None = None,
) -> np.ndarray:
    """:func:`iter_window`'s frames as one RGB array ``[count, h, w, 3]``."""
    return np.stack([cv2_merge(planes) for planes in iter_window(path, start, count, size, probe=probe)])


def cv2_merge(planes: tuple[np.ndarray, ...]) -> np.ndarray:
    """Planes ``[h, w]`` interleaved into one ``[h, w, C]`` frame."""
    import cv2

    return cv2.merge(list(planes))  # rows may be padded (the decoder's line size); OpenCV takes row strides


def iter_frames(
    path: str | os.PathLike[str], *, start_sec: float | None = None, end_sec: float | None = None
) -> Iterator[np.ndarray]:
    """Every frame (RGB uint8 ``[H, W, 3]``) shown from ``start_sec`` up to ``end_sec``, in order.

    A frame belongs to the span when its presentation time (from the first frame) lies in
    ``[start_sec, end_sec)``; None means the start or the end of the video.
    """
    path = os.fspath(path)
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            base = stream.start_time if stream.start_time is not None else 0
            if start_sec:
                container.seek(base + int(start_sec / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                shown = float((frame.pts - base) * stream.time_base)
                if start_sec is not None and shown < start_sec - 1e-6:
                    continue
                if end_sec is not None and shown >= end_sec - 1e-6:
                    break
                yield frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, OSError) as err:
        raise VideoDecodeError(path, f"PyAV could not decode it ({err})") from err


class Mp4Writer:
    """Writes RGB frames as an H.264 mp4, under a temporary name until :meth:`close` completes it.

    ``with Mp4Writer(path, fps) as writer: writer.write(frame)``: an exception inside the block removes
    the temporary and leaves ``path`` as it was, so a rerun never finds a half-written video. Frame
    sizes with an odd side are written as yuv444p (yuv420p needs even sides).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        self.path = Path(path)
        self.fps = fractions.Fraction(fps).limit_denominator(1001) if fps > 0 else fractions.Fraction(DEFAULT_FPS)
        make_dirs(self.path.parent)
        self._tmp = temp_path_for(self.path)
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self.frames_written = 0

    def __enter__(self) -> Mp4Writer:
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame ``[H, W, 3]`` (every frame must have the first one's size)."""
        if self._container is None:
            height, width = frame.shape[:2]
            self._container = av.open(str(self._tmp), mode="w", format="mp4")
            stream = self._container.add_stream("libx264", rate=self.fps, options=dict(ENCODER_OPTIONS))
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv444p" if height % 2 or width % 2 else "yuv420p"
            self._stream = stream
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        self._container.mux(self._stream.encode(video_frame))
        self.frames_written += 1

    def close(self) -> Path:
        """Flush the encoder and move the file into place."""
        if self._container is None:
            raise VideoDecodeError(str(self.path), "no frames were written")
        self._container.mux(self._stream.encode())
        self._container.close()
        self._container = None
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._tmp.unlink(missing_ok=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
