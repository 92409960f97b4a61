"""``SingleDatasetConfig``: one of ``dataset.{train,val,test,inference}_dataset``.

Field names and defaults follow the Cosmos-Embed1 SingleDatasetConfig table of the TAO docs; these
fields are our additions: ``decode_backend``, ``num_samples`` (size of the ``mock`` dataset),
``http_timeout_sec`` and ``http_attempts`` (the ``http`` type's downloads).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
from cosmos_core.config import option
from cosmos_core.config.schema import HELP_KEY


def _positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def _non_negative(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be 0 or more, got {value}")


def _positive_seconds(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be greater than 0 seconds, got {value}")


def _resolution(instance: Any, attribute: attrs.Attribute, value: list[int]) -> None:
    if len(value) != 2 or any(v < 1 for v in value):
        raise ValueError(f"resolution must be [H, W] with two positive integers, got {value!r}")


def caption_fields(value: Any) -> str | list[str]:
    """Normalise ``caption_field``: one field name, or a non-empty list of field names.

    Used as the attrs converter of ``caption_field``; cattrs has no structure hook for the union
    ``str | list[str]``, so it falls back to this converter and the union structures from YAML.
    """
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ValueError(
        "caption_field must be a metadata field name or a non-empty list of field names, "
        f'e.g. "anomaly_type" or ["anomaly_type", "what"]; got {value!r}'
    )


@attrs.frozen
class SingleDatasetConfig:
    """Where one dataset split comes from and how its clips are loaded."""

    dataset_type: str = option(
        "mock",
        help="Dataset class to use: mock, vad_r1, vad_r1_chunks, msrvtt, kinetics, http "
        "(any name a cosmos plugin registered; `cosmos-run list datasets` shows them).",
    )
    metadata: str | None = option(None, help="Path to the metadata JSON or JSONL file (a CSV file for kinetics).")
    data_root: str | None = option(
        None,
        help="Root directory for video data; relative video paths in the metadata are joined to it "
        "(kinetics: searched for the clips when mp4_urls is unset; http: where downloads are cached, "
        "default ~/.cache/cosmos-run/http).",
    )
    num_video_frames: int = option(
        8, help="Number of video frames to sample uniformly from each video.", validator=_positive
    )
    resolution: list[int] = option(
        help="Video frame resolution [H, W].", factory=lambda: [224, 224], validator=_resolution
    )
    batch_size: int = option(4, help="Batch size per GPU.", validator=_positive)
    workers: int = option(
        4,
        help="Number of dataloader worker processes (0 loads in the main process).",
        validator=_non_negative,
    )
    drop_last: bool = option(
        True, help="Drop the last incomplete batch when the dataset size is not divisible by batch_size."
    )
    prefetch_factor: int = option(2, help="Number of batches to prefetch per worker process.", validator=_positive)
    pin_memory: bool = option(True, help="Pin memory buffers for faster GPU transfer (ignored without a GPU).")
    split: str | None = option(
        None, help='Split filter for VadR1 datasets, e.g. "train", "test". None means no filtering.'
    )
    random_caption: bool = option(
        False,
        help="When caption_field is a list, randomly sample one field per sample (in training) "
        "instead of always using the first available one.",
    )
    path_remap: dict[str, str] = option(
        help='Remap video file paths by prefix, e.g. {"/old/path/": "/new/path/"}.', factory=dict
    )
    skip_missing_files: bool = option(
        True,
        help="Skip (and count) dataset entries whose video files are missing or cannot be decoded; "
        "when false, such an entry stops the run with its path.",
    )
    caption_field: str | list[str] = attrs.field(
        default="anomaly_type",
        converter=caption_fields,
        metadata={
            HELP_KEY: 'Metadata field(s) to use as captions. String or list of strings, e.g. "anomaly_type" '
            'or ["anomaly_type", "what"].'
        },
    )
    mp4_urls: str | None = option(None, help="Glob pattern for video files used by MSRVTTDataset and KineticsDataset.")
    caption_to_label: dict[str, int] = option(
        help="Mapping from caption text to integer label ID (ids 0..K-1). Empty: labels are the "
        "positions of the sorted distinct captions of the metadata file.",
        factory=dict,
    )
    chunk_size_sec: float = option(
        5.0,
        help="Duration of each temporal chunk in seconds (VadR1ChunksDataset only; used for entries "
        "without a `chunks` list).",
        validator=_positive_seconds,
    )
    normal_share_label: bool = option(
        True,
        help="When True, all normal (non-anomaly) samples share a single label ID instead of per-class labels.",
    )
    decode_backend: Literal["decord", "pyav"] = option(
        "decord",
        help="Video decoder: decord (default) or pyav. decord falls back to PyAV, with one warning, "
        "when it is not installed.",
    )
    num_samples: int = option(64, help="Number of samples of the mock dataset.", validator=_positive)
    options: dict[str, Any] = option(
        help="Options of the chosen dataset_type itself, for types that declare their own (plugins); "
        "`cosmos-run list datasets` names the types, their docs the options.",
        factory=dict,
    )
    http_timeout_sec: float = option(
        30.0,
        help="http datasets: seconds to wait for a connection or for the next bytes of a download.",
        validator=_positive_seconds,
    )
    http_attempts: int = option(
        3,
        help="http datasets: tries per URL (with exponential backoff) before it is skipped as a missing file.",
        validator=_positive,
    )
    http_ca_bundle: str | None = option(
        None,
        help="http datasets: a PEM file of CA certificates to verify HTTPS servers with, instead of the "
        "system's (a private CA, or a company proxy that re-signs traffic). Unset: the system's store.",
    )
