"""JSON/JSONL metadata whose entries name a video and carry caption fields (vad_r1, vad_r1_chunks, http).

Labels (:meth:`CaptionedMetadata.label_map`) come from ``caption_to_label`` when given; otherwise they
are positions in the sorted set of the entries' primary captions (the first caption field present)
over the whole metadata file, before the split filter, so the train, val and test splits of one file
share label ids. Entries of the split that name one video more than once are reported in one warning
(see :mod:`cosmos_datasets.duplicates`); exact copies are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.duplicates import find_repeats, warn_repeats, without_copies
from cosmos_datasets.entries import CaptionReader, caption_field_names, in_split
from cosmos_datasets.errors import DatasetConfigError
from cosmos_datasets.labels import LabelMap
from cosmos_datasets.metadata import read_records, require_text


@attrs.frozen
class CaptionedEntry:
    """One entry of the selected split: its raw video reference and captions (primary first)."""

    line: int
    data: dict[str, Any]
    raw_path: str
    captions: tuple[str, ...]
    source: str


@attrs.frozen
class CaptionedMetadata:
    entries: list[CaptionedEntry]
    primary_texts: list[str]
    """The primary caption of every entry of the file, all splits."""
    described: str
    """How many entries the file had and how many the split kept, for an "empty dataset" message."""

    def label_map(self, config: SingleDatasetConfig, extra_texts: Iterable[str] = ()) -> LabelMap:
        """``caption_to_label``, or labels from the primary captions and ``extra_texts``."""
        return LabelMap.for_captions(config.caption_to_label, [*self.primary_texts, *extra_texts])


def read_captioned_metadata(
    config: SingleDatasetConfig,
    *,
    dataset_type: str,
    path_fields: Sequence[str],
) -> CaptionedMetadata:
    """Entries of ``config.metadata`` in ``config.split``, each naming its video in one of ``path_fields``."""
    if not config.metadata:
        raise DatasetConfigError(
            f"dataset_type {dataset_type!r} needs a metadata file: set the dataset's `metadata` "
            "to a JSON or JSONL file listing the videos"
        )
    records = read_records(config.metadata)
    reader = CaptionReader(caption_field_names(config), dataset_type=dataset_type, path=config.metadata)
    captioned = [(line, entry, reader.require(entry, line)) for line, entry in records]
    reader.warn_converted()
    entries = []
    for line, entry, captions in captioned:
        source = f"{config.metadata}:{line}"
        if not in_split(entry, config.split, dataset_type=dataset_type, source=source):
            continue
        raw = require_text(entry, path_fields, dataset_type=dataset_type, path=config.metadata, line=line)
        entries.append(CaptionedEntry(line, entry, raw, captions, source))
    repeats = find_repeats([(e.line, e.raw_path, e.data) for e in entries])
    warn_repeats(config.metadata, repeats)
    entries = without_copies(entries, repeats)
    described = f"{len(records)} entries"
    if config.split is not None:
        described += f", {len(entries)} in split {config.split!r}"
    return CaptionedMetadata(entries, [captions[0] for _, _, captions in captioned], described)
