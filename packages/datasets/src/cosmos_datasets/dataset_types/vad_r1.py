"""``vad_r1``: VAD-R1 anomaly videos listed in a JSON or JSONL metadata file.

Each entry names its video (``path``, or ``video_path``) and carries caption fields (``anomaly_type``
by default; ``what``/``where``/``why``/``how`` are alternatives). Labels come from ``caption_to_label``
when given; otherwise they are positions in the sorted set of the entries' primary captions (the
first caption field present) over the whole metadata file, before the split filter, so the train,
val and test splits of one file share label ids.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Mapping
from typing import Any

import attrs

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import Sample, VideoDataset, decode_or_skip
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.labels import LabelMap
from cosmos_datasets.metadata import fields_present, read_records, require_text
from cosmos_datasets.skips import MISSING_FILE, SkippedSample

logger = logging.getLogger(__name__)

DATASET_TYPE = "vad_r1"
PATH_FIELDS = ("path", "video_path")


@attrs.frozen
class VadR1Item:
    """One usable metadata entry: resolved video path and candidate captions (primary first)."""

    path: str
    captions: tuple[str, ...]
    label: int
    source: str  # "file:line", for messages


def resolve_video_path(raw: str, *, data_root: str | None, path_remap: Mapping[str, str]) -> str:
    """Apply the longest matching ``path_remap`` prefix, then join a relative path to ``data_root``."""
    for old in sorted(path_remap, key=len, reverse=True):
        if raw.startswith(old):
            raw = path_remap[old] + raw[len(old) :]
            break
    if data_root and not os.path.isabs(raw):
        return os.path.join(data_root, raw)
    return raw


def caption_texts(entry: Mapping[str, Any], fields: list[str]) -> tuple[str, ...]:
    """The non-empty values of ``fields`` in order, as text (a list value becomes its JSON)."""
    texts = []
    for field in fields:
        value = entry.get(field)
        if value is None or value == "":
            continue
        texts.append(value if isinstance(value, str) else json.dumps(value))
    return tuple(texts)


class VadR1Dataset(VideoDataset):
    """Whole-video clips of a VAD-R1 metadata file; see the module docstring for labels."""

    def __init__(self, config: SingleDatasetConfig, *, training: bool) -> None:
        if not config.metadata:
            raise DatasetConfigError(
                f"dataset_type {DATASET_TYPE!r} needs a metadata file: set the dataset's `metadata` "
                "to a JSON or JSONL file listing the videos"
            )
        self.config = config
        self.training = training
        self.fields = (
            [config.caption_field] if isinstance(config.caption_field, str) else list(config.caption_field)
        )
        records = read_records(config.metadata)
        entries = [(line, entry, self._captions(line, entry)) for line, entry in records]
        self.labels = (
            LabelMap.from_mapping(config.caption_to_label)
            if config.caption_to_label
            else LabelMap.from_texts(captions[0] for _, _, captions in entries)
        )
        in_split = [
            (line, entry, captions) for line, entry, captions in entries if self._in_split(line, entry)
        ]
        self.items: list[VadR1Item] = []
        self.missing: list[str] = []
        for line, entry, captions in in_split:
            item = self._item(line, entry, captions)
            if os.path.isfile(item.path):
                self.items.append(item)
            elif config.skip_missing_files:
                self.missing.append(item.path)
            else:
                raise DatasetConfigError(
                    f"{item.source}: video file not found: {item.path}. Fix data_root or path_remap, or set "
                    "skip_missing_files: true to skip missing videos"
                )
        if self.missing:
            logger.warning(
                "%s: %d of %d videos listed in %s are missing and were skipped (first: %s)",
                DATASET_TYPE,
                len(self.missing),
                len(in_split),
                config.metadata,
                self.missing[0],
            )
        if not self.items:
            split = f", {len(in_split)} in split {config.split!r}" if config.split is not None else ""
            raise DatasetConfigError(
                f"{DATASET_TYPE} dataset from {config.metadata} is empty: {len(records)} entries{split}, "
                f"{len(self.missing)} of them with missing video files (data_root={config.data_root!r})"
            )

    def _source(self, line: int) -> str:
        return f"{self.config.metadata}:{line}"

    def _captions(self, line: int, entry: Mapping[str, Any]) -> tuple[str, ...]:
        captions = caption_texts(entry, self.fields)
        if not captions:
            raise MetadataError(
                f"{self._source(line)}: {DATASET_TYPE} entry has none of the caption fields "
                f"{', '.join(map(repr, self.fields))} (fields present: {fields_present(entry)}); "
                "fix the entry or set caption_field"
            )
        return captions

    def _in_split(self, line: int, entry: Mapping[str, Any]) -> bool:
        if self.config.split is None:
            return True
        if "split" not in entry:
            raise MetadataError(
                f"{self._source(line)}: {DATASET_TYPE} entry has no 'split' field, but the dataset "
                f"filters on split={self.config.split!r}; add the field or set split to null"
            )
        return entry["split"] == self.config.split

    def _item(self, line: int, entry: dict[str, Any], captions: tuple[str, ...]) -> VadR1Item:
        source = self._source(line)
        raw = require_text(
            entry, PATH_FIELDS, dataset_type=DATASET_TYPE, path=self.config.metadata, line=line
        )
        if captions[0] not in self.labels:
            raise MetadataError(
                f"{source}: caption {captions[0]!r} is not in caption_to_label "
                f"(known: {', '.join(map(repr, self.labels.ids))}); add it to caption_to_label"
            )
        path = resolve_video_path(raw, data_root=self.config.data_root, path_remap=self.config.path_remap)
        return VadR1Item(path=path, captions=captions, label=self.labels.ids[captions[0]], source=source)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample | SkippedSample:
        item = self.items[index]
        video = decode_or_skip(self.config, index, item.path)
        if isinstance(video, SkippedSample):
            return video
        return {
            "video": video,
            "caption": self._pick_caption(item.captions),
            "captions": list(item.captions),
            "label": item.label,
            "index": index,
            "path": item.path,
        }

    def _pick_caption(self, captions: tuple[str, ...]) -> str:
        """In training with ``random_caption``, any available field; otherwise the first available one."""
        if self.training and self.config.random_caption:
            return random.choice(captions)
        return captions[0]

    def label_names(self) -> list[str]:
        return list(self.labels.names)

    def skipped_at_build(self) -> list[dict[str, str]]:
        return [
            {"path": path, "reason": f"{MISSING_FILE}: not found when the dataset was built"}
            for path in self.missing
        ]
