"""``vad_r1``: VAD-R1 anomaly videos listed in a JSON or JSONL metadata file, one sample per video.

Each entry names its video (``path``, or ``video_path``) and carries caption fields (``anomaly_type``
by default; ``what``/``where``/``why``/``how`` are alternatives); see
:mod:`cosmos_datasets.dataset_types.captioned` for labels.
"""

from __future__ import annotations

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import Clip, ClipDataset
from cosmos_datasets.dataset_types.captioned import read_captioned_metadata
from cosmos_datasets.entries import resolve_video_path

PATH_FIELDS = ("path", "video_path")


class VadR1Dataset(ClipDataset):
    """Whole-video clips of a VAD-R1 metadata file."""

    dataset_type = "vad_r1"

    def __init__(self, config: SingleDatasetConfig, *, training: bool) -> None:
        metadata = read_captioned_metadata(config, dataset_type=self.dataset_type, path_fields=PATH_FIELDS)
        labels = metadata.label_map(config)
        clips = [
            Clip(
                path=resolve_video_path(entry.raw_path, data_root=config.data_root, path_remap=config.path_remap),
                captions=entry.captions,
                source=entry.source,
                label=labels.label_of(entry.captions[0], entry.source),
            )
            for entry in metadata.entries
        ]
        super().__init__(config, clips, training=training, labels=labels, described=metadata.described)
