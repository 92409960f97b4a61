"""``kinetics``: Kinetics-400/600/700 clips from the annotation CSV, one sample per row.

The CSV has a header with ``youtube_id`` and ``label`` and usually ``time_start``, ``time_end`` and
``split`` (``label,youtube_id,time_start,time_end,split`` in the official files). The caption is the
label text; labels are positions in the sorted label set of the whole file (all splits) unless
``caption_to_label`` is given.

Videos are found by file name among the files ``mp4_urls`` matches (or every video under
``data_root`` when it is unset): a trimmed clip named ``<youtube_id>_<start:06d>_<end:06d>`` (as the
common downloaders save them) is used whole; a full video named ``<youtube_id>`` is sampled inside
``[time_start, time_end]``. Rows with neither are skipped and counted as missing files. Rows of the
split that repeat a clip (same ``youtube_id`` and window) are reported once; exact copies are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import Clip, ClipDataset, missing_file
from cosmos_datasets.duplicates import find_repeats, warn_repeats, without_copies
from cosmos_datasets.entries import in_split, video_files
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.labels import LabelMap
from cosmos_datasets.metadata import read_csv_records

DATASET_TYPE = "kinetics"
EXAMPLE_HEADER = "label,youtube_id,time_start,time_end,split"


class KineticsDataset(ClipDataset):
    """Kinetics clips with their action labels as captions; see the module docstring."""

    dataset_type = DATASET_TYPE

    def __init__(self, config: SingleDatasetConfig, *, training: bool) -> None:
        if not config.metadata:
            raise DatasetConfigError(
                f"dataset_type 'kinetics' needs a metadata file: set the dataset's `metadata` to the Kinetics "
                f"annotation CSV (header {EXAMPLE_HEADER})"
            )
        if not config.mp4_urls and not config.data_root:
            raise DatasetConfigError(
                "dataset_type 'kinetics' needs the videos: set mp4_urls to a glob of the clips "
                "(e.g. /data/kinetics/train/*.mp4) or data_root to the folder that holds them"
            )
        rows = read_csv_records(
            config.metadata, dataset_type=DATASET_TYPE, required=("youtube_id", "label"), example=EXAMPLE_HEADER
        )
        sources = {line: f"{config.metadata}:{line}" for line, _ in rows}
        texts = [_field(row, "label", sources[line]) for line, row in rows]
        labels = LabelMap.for_captions(config.caption_to_label, texts)
        pattern = config.mp4_urls or os.path.join(config.data_root or "", "**", "*")
        found = video_files(pattern, dataset_type=DATASET_TYPE)
        chosen = [
            (line, row)
            for line, row in rows
            if in_split(row, config.split, dataset_type=DATASET_TYPE, source=sources[line])
        ]
        repeats = find_repeats([(line, _clip_key(row, sources[line]), row) for line, row in chosen])
        warn_repeats(config.metadata, repeats, what="clip")
        clips, unresolved, selected = [], [], len(chosen)
        for line, row in without_copies(chosen, repeats):
            source = sources[line]
            youtube_id, text = _field(row, "youtube_id", source), _field(row, "label", source)
            start, end = _window(row, source)
            trimmed = found.get(f"{youtube_id}_{int(start):06d}_{int(end):06d}") if end is not None else None
            full = found.get(youtube_id)
            if trimmed is None and full is None:
                problem = f"no video file named {youtube_id!r} (or a trimmed clip of it) matches {pattern!r}"
                unresolved.append(missing_file(youtube_id, source, problem))
                continue
            clips.append(
                Clip(
                    path=trimmed or full,
                    captions=(text,),
                    source=source,
                    label=labels.label_of(text, source),
                    start_sec=None if trimmed else start,
                    end_sec=None if trimmed else end,
                )
            )
        described = f"{len(rows)} rows"
        if config.split is not None:
            described += f", {selected} in split {config.split!r}"
        super().__init__(config, clips, training=training, labels=labels, described=described, unresolved=unresolved)


def _clip_key(row: Mapping[str, str], source: str) -> str:
    """What makes two rows the same clip: the video and the time window."""
    start, end = _window(row, source)
    return f"{_field(row, 'youtube_id', source)} [{start:g}, {'end' if end is None else f'{end:g}'}]"


def _field(row: Mapping[str, str], column: str, source: str) -> str:
    value = row.get(column, "")
    if not value:
        raise MetadataError(f"{source}: kinetics row has an empty {column!r} column")
    return value


def _window(row: Mapping[str, str], source: str) -> tuple[float, float | None]:
    """``(time_start, time_end)`` in seconds; a missing column means the clip's start or end."""
    start = _seconds(row, "time_start", source)
    end = _seconds(row, "time_end", source)
    if end is not None and end <= (start or 0.0):
        raise MetadataError(f"{source}: kinetics row has time_end {end} not after time_start {start or 0.0}")
    return start or 0.0, end


def _seconds(row: Mapping[str, str], column: str, source: str) -> float | None:
    text = row.get(column, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise MetadataError(
            f"{source}: kinetics row column {column!r} must be a number of seconds, got {text!r}"
        ) from None
    if value < 0:
        raise MetadataError(f"{source}: kinetics row column {column!r} must not be negative, got {text!r}")
    return value
