"""Errors raised for bad dataset input; each names the file (and line) and says what to do."""

from __future__ import annotations

from cosmos_core.errors import UserInputError


class DatasetError(UserInputError):
    """Base class of the errors of cosmos_datasets: bad metadata, configs or videos the user can fix."""


class DatasetConfigError(DatasetError, ValueError):
    """A dataset config cannot work (missing metadata path, no samples left, a missing video file)."""


class MetadataError(DatasetError, ValueError):
    """A metadata file is unreadable, malformed, or an entry lacks a required field."""


class VideoDecodeError(DatasetError):
    """A video file is missing or cannot be decoded.

    ``missing`` tells a file that does not exist from one that exists but is not a readable video.
    """

    def __init__(self, path: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(f"cannot read video {path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.missing = missing


class StillImageError(VideoDecodeError):
    """A file named like a video holds a still image (a PNG renamed ``.mp4``); skips count it apart."""


class NothingLoadableError(DatasetError, RuntimeError):
    """Every item a training batch could fall back on failed to load: the data cannot feed a run."""
