"""Dataset factories registered by :mod:`cosmos_datasets.plugin`: ``factory(config, *, training)``.

Importing this module is cheap; torch and the decoders load when a factory runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmos_datasets.config import SingleDatasetConfig

if TYPE_CHECKING:
    from cosmos_datasets.dataset_types.base import VideoDataset


def build_mock(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``mock``: random frames, no files; ``training`` changes nothing."""
    from cosmos_datasets.dataset_types.mock import MockDataset

    return MockDataset(config)


def build_vad_r1(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``vad_r1``; in training an unloadable video is replaced by the next loadable one."""
    from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset
    from cosmos_datasets.replacement import ReplaceSkipped

    dataset = VadR1Dataset(config, training=training)
    return ReplaceSkipped(dataset) if training else dataset
