"""What every cosmos video dataset offers, and :class:`ClipDataset`, the base of the metadata-driven types."""

from __future__ import annotations

import abc
import logging
import os
import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import torch
from torch.utils.data import Dataset

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.errors import DatasetConfigError, VideoDecodeError
from cosmos_datasets.labels import LabelMap
from cosmos_datasets.skips import MISSING_FILE, SkippedSample, skip_reason
from cosmos_datasets.video import read_clip

logger = logging.getLogger(__name__)

Sample = dict[str, Any]
"""``{"video": uint8 [T,3,H,W], "caption": str, "captions": list[str], "label": int, "index": int,
"path": str}``; ``captions`` holds every candidate caption text of the item. Some types add fields
(``vad_r1_chunks``: ``is_anomaly``, ``overlap_ratio``, ``chunk_index``, ``start_sec``, ``end_sec``)."""


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


@attrs.frozen
class Clip:
    """One item of a :class:`ClipDataset`: a video, or a time window of it, with its captions.

    ``captions`` lists every candidate caption, the primary one first. ``label`` is None when each
    clip is its own class (retrieval sets such as MSR-VTT). ``extra`` fields are copied into the
    sample. ``source`` says where the clip was described (``file:line``), for messages.
    """

    path: str
    captions: tuple[str, ...]
    source: str
    label: int | None = None
    start_sec: float | None = None
    end_sec: float | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class BuildSkip:
    """An entry left out while building: its video is missing (``MISSING_FILE``) or unreadable."""

    path: str
    category: str
    problem: str
    source: str

    def as_record(self) -> dict[str, str]:
        return {"path": self.path, "reason": f"{self.category}: {self.problem}"}


def missing_file(path: str, source: str, problem: str | None = None) -> BuildSkip:
    return BuildSkip(path, MISSING_FILE, problem or f"video file not found: {path}", source)


class ClipDataset(VideoDataset):
    """A dataset of :class:`Clip` items: what the metadata-driven dataset types share.

    A subclass parses its metadata into clips and passes them here with ``super().__init__``. Clips
    whose video file is missing, and the ``unresolved`` entries the subclass could not place, are
    skipped and reported by :meth:`skipped_at_build` (or stop the build naming the entry when
    ``skip_missing_files`` is false). Items decode in DataLoader workers; a file that fails to decode
    becomes a :class:`SkippedSample`. With ``random_caption`` a training item's caption is drawn from
    all its captions, otherwise the primary one is used.
    """

    dataset_type: ClassVar[str] = "clips"
    check_files: ClassVar[bool] = True
    """False for types whose paths are not local files (URLs)."""

    def __init__(
        self,
        config: SingleDatasetConfig,
        clips: Sequence[Clip],
        *,
        training: bool,
        labels: LabelMap | None,
        described: str,
        unresolved: Sequence[BuildSkip] = (),
    ) -> None:
        self.config = config
        self.training = training
        skips = list(unresolved)
        self.clips: list[Clip] = []
        for clip in clips:
            if self.check_files and not os.path.isfile(clip.path):
                skips.append(missing_file(clip.path, clip.source))
            else:
                self.clips.append(clip)
        if skips and not config.skip_missing_files:
            first = skips[0]
            raise DatasetConfigError(
                f"{first.source}: {first.problem}. Fix data_root, path_remap or mp4_urls, or set "
                "skip_missing_files: true to skip (and count) such entries"
            )
        self.build_skips = skips
        if skips:
            logger.warning(
                "%s: %d of %d items from %s were skipped (first: %s: %s)",
                self.dataset_type,
                len(skips),
                len(skips) + len(self.clips),
                self._origin(),
                skips[0].path,
                skips[0].problem,
            )
        if not self.clips:
            raise DatasetConfigError(
                f"{self.dataset_type} dataset from {self._origin()} is empty: {described}, {len(skips)} of "
                f"them with missing or unreadable video files (data_root={config.data_root!r})"
            )
        if labels is None:
            self._names = [clip.captions[0] for clip in self.clips]
            self._labels = list(range(len(self.clips)))
        else:
            self._names = list(labels.names)
            self._labels = [_label(clip) for clip in self.clips]

    def _origin(self) -> str:
        return self.config.metadata or self.config.mp4_urls or self.config.data_root or "(no source set)"

    def __len__(self) -> int:
        return len(self.clips)

    def fetch(self, index: int, clip: Clip) -> str | SkippedSample:
        """The local file to decode for ``clip`` (types that download override this)."""
        return clip.path

    def __getitem__(self, index: int) -> Sample | SkippedSample:
        clip = self.clips[index]
        local = self.fetch(index, clip)
        if isinstance(local, SkippedSample):
            return local
        video = decode_or_skip(self.config, index, local, clip.start_sec, clip.end_sec)
        if isinstance(video, SkippedSample):
            return attrs.evolve(video, path=clip.path)
        return {
            "video": video,
            "caption": self.pick_caption(clip.captions),
            "captions": list(clip.captions),
            "label": self._labels[index],
            "index": index,
            "path": clip.path,
            **clip.extra,
        }

    def pick_caption(self, captions: tuple[str, ...]) -> str:
        """In training with ``random_caption``, any of the captions; otherwise the primary one."""
        if self.training and self.config.random_caption:
            return random.choice(captions)
        return captions[0]

    def label_names(self) -> list[str]:
        return list(self._names)

    def skipped_at_build(self) -> list[dict[str, str]]:
        return [skip.as_record() for skip in self.build_skips]


def _label(clip: Clip) -> int:
    if clip.label is None:
        raise ValueError(f"{clip.source}: clip has no label although the dataset has a label map")
    return clip.label
