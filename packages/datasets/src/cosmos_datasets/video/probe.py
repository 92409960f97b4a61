"""Reading a video's duration from its container header, without decoding frames."""

from __future__ import annotations

import os

import av

from cosmos_datasets.errors import VideoDecodeError


def probe_duration(path: str | os.PathLike[str]) -> float:
    """Seconds of the first video stream, as the container states it.

    Raises :class:`VideoDecodeError` (``missing`` for an absent file) when the file cannot be opened,
    has no video stream or states no duration.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "no such file", missing=True)
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "the file has no video stream")
            stream = container.streams.video[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            if container.duration:
                return container.duration / av.time_base
            if stream.frames and stream.average_rate:
                return stream.frames / float(stream.average_rate)
    except (av.FFmpegError, OSError) as err:
        raise VideoDecodeError(path, f"PyAV could not open it ({err})") from err
    raise VideoDecodeError(path, "the container does not state the video's duration")
