"""``msrvtt``: MSR-VTT style video-text pairs, one sample per video with all its sentences.

Two metadata layouts are read:

- rows (a JSON array or JSON Lines), each with ``video_id`` and/or ``video`` (a path or file name;
  without ``video_id`` the id is the file name without extension) and ``caption`` (a string or a
  list of strings) or ``sentences`` (a list); rows of one video id add up, optional ``split``; a row
  that is an exact copy of an earlier one is dropped with one warning per file;
- the official annotation file, one object ``{"videos": [{"video_id", "split", ...}],
  "sentences": [{"video_id", "caption"}, ...]}``.

With ``mp4_urls`` (a glob) the videos are the matched files and a video's id is its file name without
extension; metadata videos without a matching file are skipped and counted as missing, and files
without metadata are ignored. Without ``mp4_urls`` every row needs ``video``, joined to ``data_root``.

Each video is its own class (label = position in the dataset, class text = its first sentence), as
text-video retrieval needs, unless ``caption_to_label`` maps first sentences to labels. In training
with ``random_caption`` each sample's caption is drawn from all of the video's sentences.
``caption_field`` does not apply: sentences always come from ``caption``/``sentences``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import BuildSkip, Clip, ClipDataset, missing_file
from cosmos_datasets.duplicates import find_repeats, warn_repeats, without_copies
from cosmos_datasets.entries import in_split, resolve_video_path, video_files
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.labels import LabelMap
from cosmos_datasets.metadata import fields_present, json_type, preview, read_records

DATASET_TYPE = "msrvtt"


@attrs.define
class MsrvttVideo:
    """Everything the metadata says about one video id."""

    video_id: str
    source: str
    captions: list[str] = attrs.field(factory=list)
    video: str | None = None
    split: str | None = None
    has_split: bool = False


class MsrvttDataset(ClipDataset):
    """MSR-VTT videos with their sentences; see the module docstring."""

    dataset_type = DATASET_TYPE

    def __init__(self, config: SingleDatasetConfig, *, training: bool) -> None:
        if not config.metadata:
            raise DatasetConfigError(
                "dataset_type 'msrvtt' needs a metadata file: set the dataset's `metadata` to the MSR-VTT "
                "JSON (rows of video_id/video and caption, or the official videos+sentences file)"
            )
        videos = read_msrvtt_videos(config.metadata)
        selected = [
            video
            for video in videos
            if in_split(_split_view(video), config.split, dataset_type=DATASET_TYPE, source=video.source)
        ]
        found = video_files(config.mp4_urls, dataset_type=DATASET_TYPE) if config.mp4_urls else None
        labels = LabelMap.from_mapping(config.caption_to_label) if config.caption_to_label else None
        clips: list[Clip] = []
        unresolved: list[BuildSkip] = []
        for video in selected:
            if found is not None:
                path = found.get(video.video_id)
                if path is None:
                    unresolved.append(_unmatched(video, config))
                    continue
            elif video.video is None:
                raise MetadataError(
                    f"{video.source}: msrvtt entry for {video.video_id!r} has no 'video' field and mp4_urls is "
                    "not set; add the video path or set mp4_urls to a glob of the videos"
                )
            else:
                path = resolve_video_path(video.video, data_root=config.data_root, path_remap=config.path_remap)
            label = labels.label_of(video.captions[0], video.source) if labels else None
            clips.append(Clip(path=path, captions=tuple(video.captions), source=video.source, label=label))
        described = f"{len(videos)} videos"
        if config.split is not None:
            described += f", {len(selected)} in split {config.split!r}"
        super().__init__(config, clips, training=training, labels=labels, described=described, unresolved=unresolved)


def _split_view(video: MsrvttVideo) -> Mapping[str, Any]:
    return {"split": video.split} if video.has_split else {}


def _unmatched(video: MsrvttVideo, config: SingleDatasetConfig) -> BuildSkip:
    return missing_file(
        video.video_id,
        video.source,
        f"no video file named {video.video_id!r} matches mp4_urls {config.mp4_urls!r}",
    )


def read_msrvtt_videos(path: str) -> list[MsrvttVideo]:
    """The videos of an MSR-VTT metadata file in first-seen order, sentences gathered per video id."""
    records = read_records(path)
    if len(records) == 1 and "sentences" in records[0][1] and isinstance(records[0][1]["sentences"], list):
        return _official_layout(path, records[0][1])
    keyed = [(line, _video_id(row, f"{path}:{line}"), row) for line, row in records]
    copies = [repeat for repeat in find_repeats(keyed) if repeat.copies]  # rows of one video add up by design
    warn_repeats(path, copies, what="video id")
    videos: dict[str, MsrvttVideo] = {}
    for line, video_id, row in without_copies(keyed, copies):
        source = f"{path}:{line}"
        video = videos.setdefault(video_id, MsrvttVideo(video_id, source))
        video.captions += _row_captions(row, source)
        if video.video is None and row.get("video") is not None:
            video.video = _text(row, "video", source)
        if "split" in row and not video.has_split:
            video.split, video.has_split = row["split"], True
    return list(videos.values())


def _official_layout(path: str, document: dict[str, Any]) -> list[MsrvttVideo]:
    listed = document.get("videos")
    if listed is not None and not isinstance(listed, list):
        raise MetadataError(
            f"{path}: the msrvtt field 'videos' must be a list of objects, got {json_type(listed)} {preview(listed)}"
        )
    splits = {}
    for position, video in enumerate(listed or []):
        source = f"{path}: videos[{position}]"
        if not isinstance(video, dict):
            raise MetadataError(f"{source}: each msrvtt video must be an object, got {preview(video)}")
        splits[_text(video, "video_id", source)] = video.get("split")
    videos: dict[str, MsrvttVideo] = {}
    for position, sentence in enumerate(document["sentences"]):
        source = f"{path}: sentences[{position}]"
        if not isinstance(sentence, dict):
            raise MetadataError(f"{source}: each msrvtt sentence must be an object, got {preview(sentence)}")
        video_id = _text(sentence, "video_id", source)
        video = videos.setdefault(video_id, MsrvttVideo(video_id, source))
        video.captions.append(_text(sentence, "caption", source))
        if video_id in splits:
            video.split, video.has_split = splits[video_id], True
    return list(videos.values())


def _video_id(row: Mapping[str, Any], source: str) -> str:
    if row.get("video_id") is not None:
        value = row["video_id"]
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise MetadataError(f"{source}: msrvtt entry field 'video_id' must be a string, got {preview(value)}")
        return str(value)
    if row.get("video") is not None:
        return os.path.splitext(os.path.basename(_text(row, "video", source)))[0]
    raise MetadataError(
        f"{source}: msrvtt entry has no 'video_id' or 'video' field (fields present: {fields_present(dict(row))})"
    )


def _row_captions(row: Mapping[str, Any], source: str) -> list[str]:
    for field in ("caption", "sentences"):
        value = row.get(field)
        if value is None:
            continue
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise MetadataError(
                f"{source}: msrvtt entry field {field!r} must be a sentence or a non-empty list of sentences, "
                f"got {preview(value)}"
            )
        return list(texts)
    raise MetadataError(
        f"{source}: msrvtt entry has no 'caption' field (nor 'sentences'); fields present: {fields_present(dict(row))}"
    )


def _text(entry: Mapping[str, Any], field: str, source: str) -> str:
    value = entry.get(field)
    if value is None:
        raise MetadataError(
            f"{source}: msrvtt entry has no {field!r} field (fields present: {fields_present(dict(entry))})"
        )
    if not isinstance(value, str) or not value.strip():
        raise MetadataError(f"{source}: msrvtt entry field {field!r} must be a non-empty string, got {preview(value)}")
    return value
