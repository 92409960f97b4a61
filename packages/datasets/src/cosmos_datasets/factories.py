"""Dataset factories registered by :mod:`cosmos_datasets.plugin`: ``factory(config, *, training)``.

Importing this module is cheap; torch and the decoders load when a factory runs. Every type that
reads video files is wrapped in :class:`~cosmos_datasets.replacement.ReplaceSkipped` for training, so
an unloadable video is replaced by the next loadable one (and still counted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmos_datasets.config import SingleDatasetConfig

if TYPE_CHECKING:
    from cosmos_datasets.dataset_types.base import VideoDataset


def for_training(dataset: VideoDataset, training: bool) -> VideoDataset:
    """``dataset`` wrapped in ReplaceSkipped for training, as is for evaluation."""
    from cosmos_datasets.replacement import ReplaceSkipped

    return ReplaceSkipped(dataset) if training else dataset


def build_mock(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``mock``: random frames, no files; ``training`` changes nothing."""
    from cosmos_datasets.dataset_types.mock import MockDataset

    return MockDataset(config)


def build_vad_r1(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``vad_r1``: one sample per VAD-R1 video."""
    from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset

    return for_training(VadR1Dataset(config, training=training), training)


def build_vad_r1_chunks(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``vad_r1_chunks``: one sample per temporal chunk of each VAD-R1 video."""
    from cosmos_datasets.dataset_types.vad_r1_chunks import VadR1ChunksDataset

    return for_training(VadR1ChunksDataset(config, training=training), training)


def build_msrvtt(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``msrvtt``: one sample per MSR-VTT video with all its sentences."""
    from cosmos_datasets.dataset_types.msrvtt import MsrvttDataset

    return for_training(MsrvttDataset(config, training=training), training)


def build_kinetics(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``kinetics``: one sample per row of a Kinetics annotation CSV."""
    from cosmos_datasets.dataset_types.kinetics import KineticsDataset

    return for_training(KineticsDataset(config, training=training), training)


def build_http(config: SingleDatasetConfig, *, training: bool) -> VideoDataset:
    """``http``: videos downloaded (and cached) from the URLs of a metadata file."""
    from cosmos_datasets.dataset_types.http import HttpDataset

    return for_training(HttpDataset(config, training=training), training)
