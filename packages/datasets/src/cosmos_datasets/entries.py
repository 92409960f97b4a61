"""Reading the fields every metadata-driven dataset type shares: video paths, captions, splits, globs.

Each helper takes the entry's ``source`` (``file:line``) so a complaint names where to look.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.metadata import fields_present

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


def resolve_video_path(raw: str, *, data_root: str | None, path_remap: Mapping[str, str]) -> str:
    """Apply the longest matching ``path_remap`` prefix, then join a relative path to ``data_root``."""
    for old in sorted(path_remap, key=len, reverse=True):
        if raw.startswith(old):
            raw = path_remap[old] + raw[len(old) :]
            break
    if data_root and not os.path.isabs(raw):
        return os.path.join(data_root, raw)
    return raw


def caption_field_names(config: SingleDatasetConfig) -> list[str]:
    """``caption_field`` as a list (it may be one name or several)."""
    field = config.caption_field
    return [field] if isinstance(field, str) else list(field)


def caption_texts(entry: Mapping[str, Any], fields: list[str]) -> tuple[str, ...]:
    """The non-empty values of ``fields`` in order, as text (a list value becomes its JSON)."""
    texts = []
    for field in fields:
        value = entry.get(field)
        if value is None or value == "":
            continue
        texts.append(value if isinstance(value, str) else json.dumps(value))
    return tuple(texts)


def require_captions(entry: Mapping[str, Any], fields: list[str], *, dataset_type: str, source: str) -> tuple[str, ...]:
    """:func:`caption_texts`, or a :class:`MetadataError` when the entry has none of ``fields``."""
    captions = caption_texts(entry, fields)
    if not captions:
        raise MetadataError(
            f"{source}: {dataset_type} entry has none of the caption fields "
            f"{', '.join(map(repr, fields))} (fields present: {fields_present(dict(entry))}); "
            "fix the entry or set caption_field"
        )
    return captions


def in_split(
    entry: Mapping[str, Any], split: str | None, *, dataset_type: str, source: str, field: str = "split"
) -> bool:
    """Whether the entry belongs to ``split`` (every entry does when ``split`` is None)."""
    if split is None:
        return True
    if field not in entry:
        raise MetadataError(
            f"{source}: {dataset_type} entry has no {field!r} field, but the dataset filters on "
            f"split={split!r}; add the field or set split to null"
        )
    return entry[field] == split


def video_files(pattern: str, *, dataset_type: str) -> dict[str, str]:
    """``{file stem: path}`` of the video files a glob (``**`` included) matches, in sorted order.

    Raises :class:`DatasetConfigError` when it matches no video file. Two files with one stem keep the
    first and log a warning, since ids are derived from file names.
    """
    matches = sorted(p for p in glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    videos = [p for p in matches if p.lower().endswith(VIDEO_EXTENSIONS)]
    if not videos:
        raise DatasetConfigError(
            f"{dataset_type}: 0 videos found: the glob {pattern!r} matches {len(matches)} files and no "
            f"video ({', '.join(VIDEO_EXTENSIONS)}); set mp4_urls to a pattern such as "
            "'/data/videos/*.mp4' (or '/data/videos/**/*.mp4' for subfolders)"
        )
    by_stem: dict[str, str] = {}
    for path in videos:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in by_stem:
            logger.warning(
                "%s: two videos share the id %r: %s and %s; using the first", dataset_type, stem, by_stem[stem], path
            )
            continue
        by_stem[stem] = path
    return by_stem
