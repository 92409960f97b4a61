"""What a file is before decoding it: its duration from the container header, or a still image's format.

FFmpeg opens a PNG or JPEG whatever its name and decodes it as a one-frame "video", which sampling
would then repeat into a clip of identical frames; :func:`refuse_still_image` tells such files apart by
their first bytes (a read of 16 bytes, cheap enough for every sample).
"""

from __future__ import annotations

import os

import av

from cosmos_datasets.errors import StillImageError, VideoDecodeError

_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"qoif", "QOI"),
)


def still_image_format(path: str) -> str | None:
    """``"PNG"``, ``"JPEG"``, ``"WebP"``, ... when the file starts like that still-image format, else None.

    GIF is not listed: an animated GIF is a video to FFmpeg.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None  # the decoder reports an unreadable file in its own words
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00":  # reserved fields, always zero
        return "BMP"
    return next((name for signature, name in _IMAGE_SIGNATURES if head.startswith(signature)), None)


def refuse_still_image(path: str) -> None:
    """Raise :class:`StillImageError` when ``path`` holds a still image rather than a video."""
    kind = still_image_format(path)
    if kind is not None:
        named = os.path.splitext(path)[1] or "a video name"
        raise StillImageError(path, f"{kind} still image, not a video (a picture renamed to {named}?)")


def probe_duration(path: str | os.PathLike[str]) -> float:
    """Seconds of the first video stream, as the container states it.

    Raises :class:`VideoDecodeError` (``missing`` for an absent file) when the file cannot be opened,
    is a still image, has no video stream or states no duration.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "no such file", missing=True)
    refuse_still_image(path)
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
