"""``vad_r1_chunks``: VAD-R1 videos cut into temporal chunks, one sample per chunk.

Entries are VAD-R1 entries (see :mod:`cosmos_datasets.dataset_types.vad_r1`) with an optional
``chunks`` list; each chunk gives its time range (``start_time_sec``/``end_time_sec``, or
``start_frame``/``end_frame`` with the entry's ``fps``), ``is_anomaly`` and optionally
``overlap_ratio`` and ``chunk_index``. Frames are sampled inside the chunk's time range.

An entry without ``chunks`` is cut into ``chunk_size_sec`` pieces over its duration
(``video_duration_sec``, else ``total_frames / fps``, else the container's header). A trailing piece
shorter than half a chunk is merged into the chunk before it. A computed chunk's ``overlap_ratio`` is
the share of it inside the annotated anomaly (``anomaly_start_sec``/``anomaly_end_sec``, else the
``anomaly_*_frame`` fields over ``fps``) and it is anomalous when that share is above 0. Without an
anomaly window every chunk of an anomaly video is anomalous and every chunk of a normal one (primary
caption "normal", any case) is not.

Anomalous chunks carry their video's captions and label. Normal chunks, with ``normal_share_label``
(the default), all share one caption and label: the normal class of the metadata ("Normal", say) or
``"normal"``; without it they keep their video's captions and label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import BuildSkip, Clip, ClipDataset, missing_file
from cosmos_datasets.dataset_types.captioned import CaptionedEntry, read_captioned_metadata
from cosmos_datasets.dataset_types.vad_r1 import PATH_FIELDS
from cosmos_datasets.entries import resolve_video_path
from cosmos_datasets.errors import DatasetConfigError, MetadataError, StillImageError, VideoDecodeError
from cosmos_datasets.labels import LabelMap
from cosmos_datasets.metadata import fields_present, json_type, preview
from cosmos_datasets.skips import STILL_IMAGE, UNDECODABLE
from cosmos_datasets.video import probe_duration

DATASET_TYPE = "vad_r1_chunks"
NORMAL_CAPTION = "normal"
MAX_CHUNKS = 100_000
"""Most chunks one video may be cut into (about six days of 5 s chunks); more means a wrong duration."""


@attrs.frozen
class Chunk:
    """A time range of a video and how much of it the annotated anomaly covers."""

    index: int
    start_sec: float
    end_sec: float
    is_anomaly: bool
    overlap_ratio: float


def is_normal_caption(text: str) -> bool:
    return text.strip().lower() == NORMAL_CAPTION


def split_into_chunks(
    duration: float, chunk_size: float, anomaly: tuple[float, float] | None, anomalous_video: bool
) -> list[Chunk]:
    """``chunk_size`` pieces of ``[0, duration]``, a short tail merged into the last full piece."""
    bounds = [i * chunk_size for i in range(max(1, math.ceil(duration / chunk_size - 1e-9)))] + [duration]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < chunk_size / 2:
        del bounds[-2]
    chunks = []
    for index, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if anomaly is None:
            ratio = 1.0 if anomalous_video else 0.0
        else:
            ratio = max(0.0, min(end, anomaly[1]) - max(start, anomaly[0])) / (end - start)
        chunks.append(Chunk(index, start, end, ratio > 0, round(ratio, 6)))
    return chunks


class VadR1ChunksDataset(ClipDataset):
    """One clip per chunk of every VAD-R1 video; see the module docstring."""

    dataset_type = DATASET_TYPE

    def __init__(self, config: SingleDatasetConfig, *, training: bool) -> None:
        metadata = read_captioned_metadata(config, dataset_type=self.dataset_type, path_fields=PATH_FIELDS)
        normal = next((t for t in metadata.primary_texts if is_normal_caption(t)), NORMAL_CAPTION)
        share = config.normal_share_label
        labels = metadata.label_map(config, [normal] if share else [])
        clips: list[Clip] = []
        unresolved: list[BuildSkip] = []
        for entry in metadata.entries:
            path = resolve_video_path(entry.raw_path, data_root=config.data_root, path_remap=config.path_remap)
            try:
                chunks = entry_chunks(entry, path, config.chunk_size_sec)
            except VideoDecodeError as error:
                unresolved.append(_duration_skip(error, entry.source))
                continue
            video_label = labels.label_of(entry.captions[0], entry.source)
            for chunk in chunks:
                captions, label = entry.captions, video_label
                if share and not chunk.is_anomaly:
                    captions, label = (normal,), _normal_label(labels, normal, entry.source)
                clips.append(
                    Clip(
                        path=path,
                        captions=captions,
                        source=f"{entry.source} chunk {chunk.index}",
                        label=label,
                        start_sec=chunk.start_sec,
                        end_sec=chunk.end_sec,
                        extra={
                            "is_anomaly": chunk.is_anomaly,
                            "overlap_ratio": chunk.overlap_ratio,
                            "chunk_index": chunk.index,
                            "start_sec": chunk.start_sec,
                            "end_sec": chunk.end_sec,
                        },
                    )
                )
        super().__init__(
            config,
            clips,
            training=training,
            labels=labels,
            described=f"{metadata.described}, cut into {len(clips)} chunks",
            unresolved=unresolved,
        )


def entry_chunks(entry: CaptionedEntry, path: str, chunk_size: float) -> list[Chunk]:
    """The entry's listed chunks, or ``chunk_size`` pieces of its duration (read from ``path`` if unstated)."""
    if "chunks" in entry.data:
        return listed_chunks(entry.data, source=entry.source)
    data, where = entry.data, f"{entry.source}: {DATASET_TYPE} entry"
    fps = _number(data, "fps", where)
    duration = _number(data, "video_duration_sec", where)
    frames = _number(data, "total_frames", where)
    if not (duration and duration > 0) and frames and fps and frames > 0 and fps > 0:
        duration = frames / fps
    if not (duration and duration > 0):  # absent, or a placeholder such as 0 or -1
        duration = probe_duration(path)
    if duration / chunk_size > MAX_CHUNKS:
        raise MetadataError(
            f"{where} lasts {duration:g} s, which cuts into more than {MAX_CHUNKS:,} chunks of {chunk_size:g} s; "
            "check video_duration_sec (or total_frames and fps) of the entry, or raise chunk_size_sec"
        )
    anomalous = not is_normal_caption(entry.captions[0])
    return split_into_chunks(duration, chunk_size, anomaly_window(data, where), anomalous)


def _normal_label(labels: LabelMap, normal: str, source: str) -> int:
    for text, label in labels.ids.items():
        if is_normal_caption(text):
            return label
    raise DatasetConfigError(
        f"{source}: a normal chunk needs the shared normal label, but caption_to_label has no "
        f'{normal!r} entry; add "{normal}": <id> to caption_to_label or set normal_share_label: false'
    )


def _duration_skip(error: VideoDecodeError, source: str) -> BuildSkip:
    """An entry without a stated duration whose video could not be opened to read it."""
    if error.missing:
        return missing_file(error.path, source)
    if isinstance(error, StillImageError):
        return BuildSkip(error.path, STILL_IMAGE, f"cannot read the duration of {error.path}: {error.reason}", source)
    return BuildSkip(error.path, UNDECODABLE, f"cannot read the duration of {error.path}: {error.reason}", source)


def anomaly_window(entry: Mapping[str, Any], where: str) -> tuple[float, float] | None:
    """The annotated anomaly in seconds, or None when the entry has none (or a placeholder like -1)."""
    start, end = _number(entry, "anomaly_start_sec", where), _number(entry, "anomaly_end_sec", where)
    if start is None or end is None:
        fps = _number(entry, "fps", where)
        first = _number(entry, "anomaly_start_frame", where)
        last = _number(entry, "anomaly_end_frame", where)
        if not fps or first is None or last is None:
            return None
        start, end = first / fps, last / fps
    if start < 0 or end <= start:
        return None
    return start, end


def listed_chunks(entry: Mapping[str, Any], *, source: str) -> list[Chunk]:
    """The entry's ``chunks`` list, checked; each problem names the chunk and the field."""
    listed = entry["chunks"]
    if not isinstance(listed, list) or not all(isinstance(c, dict) for c in listed):
        raise MetadataError(f"{source}: {DATASET_TYPE} entry field 'chunks' must be a list of objects")
    fps = _number(entry, "fps", f"{source}: {DATASET_TYPE} entry")
    chunks = []
    for position, chunk in enumerate(listed):
        where = f"{source}: {DATASET_TYPE} chunk {position}"
        start, end = _number(chunk, "start_time_sec", where), _number(chunk, "end_time_sec", where)
        if start is None or end is None:
            first, last = _number(chunk, "start_frame", where), _number(chunk, "end_frame", where)
            if first is None or last is None or not fps:
                raise MetadataError(
                    f"{where} has no 'start_time_sec'/'end_time_sec' fields (nor 'start_frame'/'end_frame' "
                    f"with the entry's 'fps'); fields present: {fields_present(chunk)}"
                )
            start, end = first / fps, last / fps
        if start < 0 or end <= start:
            raise MetadataError(f"{where} has an empty or negative time range [{start}, {end}]")
        anomalous = chunk.get("is_anomaly")
        if not isinstance(anomalous, bool):
            found = "no 'is_anomaly' field" if anomalous is None else f"'is_anomaly' = {anomalous!r}"
            raise MetadataError(f"{where} has {found}; it must be true or false")
        ratio = _number(chunk, "overlap_ratio", where)
        index = _number(chunk, "chunk_index", where)
        chunks.append(
            Chunk(
                index=int(index) if index is not None else position,
                start_sec=float(start),
                end_sec=float(end),
                is_anomaly=anomalous,
                overlap_ratio=float(ratio) if ratio is not None else float(anomalous),
            )
        )
    if not chunks:
        raise MetadataError(f"{source}: {DATASET_TYPE} entry has an empty 'chunks' list")
    return chunks


def _number(entry: Mapping[str, Any], field: str, where: str) -> float | None:
    value = entry.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetadataError(f"{where}: field {field!r} must be a number, got {json_type(value)} {preview(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise MetadataError(f"{where}: field {field!r} must be a finite number, got {preview(value)}")
    return number
