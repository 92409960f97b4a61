"""Skipped samples: how a dataset reports a video it could not load, and how runs count them.

A dataset's ``__getitem__`` returns a :class:`SkippedSample` instead of raising, so a bad file never
kills a DataLoader worker; :func:`cosmos_datasets.collate.collate_samples` drops it from the batch and
lists it under ``batch["skipped"]``, and a :class:`SkipLog` adds those lists up over a run.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
from cosmos_core.io import write_json_atomically

from cosmos_datasets.errors import StillImageError, VideoDecodeError

MISSING_FILE = "missing file"
UNDECODABLE = "undecodable"
STILL_IMAGE = "still image"


@attrs.frozen
class SkippedSample:
    """Item ``index`` of a dataset could not be loaded from ``path``; ``reason`` starts with its category."""

    index: int
    path: str
    reason: str

    def as_record(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def skip_reason(error: VideoDecodeError) -> str:
    """``"missing file: …"``, ``"still image: …"`` or ``"undecodable: …"``, the form :class:`SkipLog` counts by."""
    if isinstance(error, StillImageError):
        return f"{STILL_IMAGE}: {error.reason}"
    return f"{MISSING_FILE if error.missing else UNDECODABLE}: {error.reason}"


def reason_category(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


class SkipLog:
    """Counts skipped samples over a run: add each batch's ``batch["skipped"]``."""

    def __init__(self) -> None:
        self._by_path: dict[str, dict[str, object]] = {}
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, skipped: Iterable[Mapping[str, str]]) -> None:
        """Count ``{"path", "reason"}`` records: a batch's ``skipped`` list, or ``skipped_at_build()``."""
        for record in skipped:
            path, reason = str(record["path"]), str(record["reason"])
            self._counts[reason_category(reason)] += 1
            entry = self._by_path.setdefault(path, {"path": path, "reason": reason, "count": 0})
            entry["count"] += 1

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def counts(self) -> dict[str, int]:
        """Skips per category, the two standard ones always present."""
        counts = {MISSING_FILE: self._counts[MISSING_FILE], UNDECODABLE: self._counts[UNDECODABLE]}
        counts.update(sorted(self._counts.items()))
        return counts

    def summary(self) -> str:
        """E.g. ``"skipped 3 samples: 1 missing file, 2 undecodable"``."""
        parts = ", ".join(f"{n} {category}" for category, n in self.counts().items())
        return f"skipped {self.total} samples: {parts}"

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the counts and every skipped file (with its reason and how often it was hit)."""
        report = {"total": self.total, "counts": self.counts(), "files": list(self._by_path.values())}
        return write_json_atomically(Path(path), report)

    def __len__(self) -> int:
        return self.total
