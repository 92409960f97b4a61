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
from cosmos_datasets.metadata import fields_present, json_type, preview

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


class CaptionReader:
    """The caption fields of one metadata file's entries, checked, with one warning per converted field.

    A caption is text. A field that is absent or ``null`` gives way to the next caption field. A list
    of numbers (the seed's ``when``, ``[start, end]``) becomes its JSON text ``"[0.2, 0.67]"``, the form
    the seed writes it in, and :meth:`warn_converted` says so once per field. Any other value (a
    number, true/false, an object, a list of anything else) is refused naming ``file:line``.
    """

    def __init__(self, fields: list[str], *, dataset_type: str, path: str) -> None:
        self.fields = fields
        self.dataset_type = dataset_type
        self.path = path
        self._converted: dict[str, list[tuple[int, str]]] = {}

    def require(self, entry: Mapping[str, Any], line: int) -> tuple[str, ...]:
        """The entry's captions in ``fields`` order; a :class:`MetadataError` when it has none."""
        texts: list[str] = []
        unusable: list[str] = []
        for field in self.fields:
            if field not in entry:
                continue
            value = entry[field]
            if value is None or (isinstance(value, str) and not value.strip()):
                unusable.append(f"{field!r} is {'null' if value is None else 'empty'}")
            elif isinstance(value, str):
                texts.append(value)
            elif _is_number_list(value):
                text = json.dumps(value)
                self._converted.setdefault(field, []).append((line, text))
                texts.append(text)
            else:
                raise MetadataError(
                    f"{self.path}:{line}: {self.dataset_type} caption field {field!r} must be text, got "
                    f"{json_type(value)} {preview(value)}; {_caption_hint(value)}"
                )
        if texts:
            return tuple(texts)
        if unusable:
            raise MetadataError(
                f"{self.path}:{line}: {self.dataset_type} entry has no caption: {', '.join(unusable)}; give it "
                "a caption, drop the entry, or set caption_field to fields it fills"
            )
        raise MetadataError(
            f"{self.path}:{line}: {self.dataset_type} entry has none of the caption fields "
            f"{', '.join(map(repr, self.fields))} (fields present: {fields_present(dict(entry))}); "
            "fix the entry or set caption_field"
        )

    def warn_converted(self) -> None:
        """One warning per caption field whose list values became text."""
        for field, uses in self._converted.items():
            lines = ", ".join(str(line) for line, _ in uses[:10]) + (", ..." if len(uses) > 10 else "")
            logger.warning(
                "%s: caption field %r holds a list of numbers, not text, in %d entries (lines %s); using its "
                "JSON text as the caption, e.g. %s",
                self.path,
                field,
                len(uses),
                lines,
                uses[0][1],
            )


def _is_number_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _caption_hint(value: Any) -> str:
    if isinstance(value, (bool, int, float)):
        return 'write it as text in quotes ("3") or set caption_field to a text field'
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "one field holds one caption: put the sentences in fields of their own and list them in caption_field"
    return "set caption_field to a field that holds text"


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
