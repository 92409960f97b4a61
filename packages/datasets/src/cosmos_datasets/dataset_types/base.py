"""What every cosmos video dataset offers besides ``__len__`` and ``__getitem__``."""

from __future__ import annotations

import abc
from typing import Any

import torch
from torch.utils.data import Dataset

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.skips import SkippedSample, skip_reason
from cosmos_datasets.video import read_clip

Sample = dict[str, Any]
"""``{"video": uint8 [T,3,H,W], "caption": str, "captions": list[str], "label": int, "index": int,
"path": str}``; ``captions`` holds every candidate caption text of the item."""


class VideoDataset(Dataset, abc.ABC):
    """A map-style dataset of :data:`Sample` dicts; an unloadable item is a :class:`SkippedSample`."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def __getitem__(self, index: int) -> Sample | SkippedSample: ...

    @abc.abstractmethod
    def label_names(self) -> list[str]:
        """The class texts, indexed by label id (evaluation ranks them against each video)."""

    def skipped_at_build(self) -> list[dict[str, str]]:
        """``{"path", "reason"}`` for entries dropped while building (e.g. missing files), for a SkipLog."""
        return []


def decode_or_skip(
    config: SingleDatasetConfig,
    index: int,
    path: str,
    start_sec: float | None = None,
    end_sec: float | None = None,
) -> torch.Tensor | SkippedSample:
    """The clip of ``path`` per ``config``, or a :class:`SkippedSample` when it cannot be read.

    With ``skip_missing_files`` false the :class:`VideoDecodeError` propagates, naming the path.
    """
    try:
        return read_clip(
            path,
            config.num_video_frames,
            config.resolution,
            config.decode_backend,
            start_sec=start_sec,
            end_sec=end_sec,
        )
    except VideoDecodeError as error:
        if not config.skip_missing_files:
            raise
        return SkippedSample(index, path, skip_reason(error))
