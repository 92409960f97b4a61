"""Where each file of a Cosmos-Transfer1 dataset lives (``examples/training_cosmos_transfer_7b.md``)::

    <dataset>/metas/<clip>.txt     caption            <dataset>/metas/<clip>.json   the source's metadata row
    <dataset>/videos/<clip>.mp4    the clip           <dataset>/t5_xxl/<clip>.pickle T5 embedding of the caption
    <dataset>/depth/<clip>.mp4     <dataset>/seg/<clip>.pickle     <dataset>/keypoint/<clip>.pickle
    <dataset>/<modality>/<clip><suffix>  any other control modality's files

A clip's name is its video's file name without ``.mp4``, the same in every folder. Only the chosen
modality's folder is needed; on-the-fly modalities (edge, vis, upscale) need none.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

VIDEOS = "videos"
METAS = "metas"
T5 = "t5_xxl"
VIDEOS_ORIG = "videos_orig"
"""Where prepare_data keeps the downloaded source videos before cutting clips (as the reference)."""


@attrs.frozen
class DatasetLayout:
    """Paths of one dataset folder."""

    root: Path = attrs.field(converter=lambda value: Path(os.path.expanduser(os.fspath(value))))

    @property
    def videos_dir(self) -> Path:
        return self.root / VIDEOS

    @property
    def metas_dir(self) -> Path:
        return self.root / METAS

    @property
    def t5_dir(self) -> Path:
        return self.root / T5

    @property
    def videos_orig_dir(self) -> Path:
        return self.root / VIDEOS_ORIG

    def clip_names(self) -> list[str]:
        """Every clip of ``videos/`` (sorted), the list the training dataset iterates."""
        if not self.videos_dir.is_dir():
            return []
        return sorted(
            entry.name[: -len(".mp4")] for entry in os.scandir(self.videos_dir) if entry.name.endswith(".mp4")
        )

    def captioned_clips(self) -> list[str]:
        """Every clip with a caption file in ``metas/`` (sorted), the list t5_embeddings encodes."""
        if not self.metas_dir.is_dir():
            return []
        return sorted(entry.name[: -len(".txt")] for entry in os.scandir(self.metas_dir) if entry.name.endswith(".txt"))

    def video(self, clip: str) -> Path:
        return self.videos_dir / f"{clip}.mp4"

    def caption(self, clip: str) -> Path:
        return self.metas_dir / f"{clip}.txt"

    def meta(self, clip: str) -> Path:
        return self.metas_dir / f"{clip}.json"

    def t5(self, clip: str) -> Path:
        return self.t5_dir / f"{clip}.pickle"

    def t5_av(self, clip: str) -> Path:
        """The AV datasets' T5 file (``.pkl``, another structure; see :mod:`~cosmos_transfer.data.t5_pickle`)."""
        return self.t5_dir / f"{clip}.pkl"

    def existing_t5(self, clip: str) -> Path | None:
        for path in (self.t5(clip), self.t5_av(clip)):
            if path.is_file():
                return path
        return None

    def control(self, folder: str, clip: str, suffix: str) -> Path:
        return self.root / folder / f"{clip}{suffix}"
