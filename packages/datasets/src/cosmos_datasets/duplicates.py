"""Entries of a metadata file that list the same video (or clip) again, reported in one warning.

Concatenated or hand-merged metadata often repeats entries; a repeated clip is trained on twice as
often and counts twice in retrieval metrics. An entry identical to an earlier one is dropped; one that
names the same video with other fields (another caption, say) is kept, since that can be meant. Either
way a single warning per file lists every repeated video with all its lines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Sequence
from typing import Any

import attrs

logger = logging.getLogger(__name__)

_SHOWN = 5
"""Repeated videos named in the warning; the rest are counted."""


@attrs.frozen
class Repeat:
    """A video named by more than one entry: the lines naming it, and which entries are exact copies."""

    key: str
    lines: tuple[int, ...]
    copies: tuple[int, ...]
    """Positions (in the sequence given to :func:`find_repeats`) of entries equal to an earlier one."""
    copy_lines: tuple[int, ...]


def find_repeats(entries: Sequence[tuple[int, Hashable, Any]]) -> list[Repeat]:
    """Repeats among ``(line, key, entry)``, in order of first appearance; ``key`` names the video.

    ``entry`` is a parsed JSON object or CSV row; copies are found by its canonical JSON text.
    """
    by_key: dict[Hashable, list[int]] = {}
    for position, (_, key, _) in enumerate(entries):
        by_key.setdefault(key, []).append(position)
    repeats = []
    for key, positions in by_key.items():
        if len(positions) < 2:
            continue
        seen: set[str] = set()
        copies = []
        for position in positions:
            canonical = json.dumps(entries[position][2], sort_keys=True, default=str)
            if canonical in seen:
                copies.append(position)
            seen.add(canonical)
        repeats.append(
            Repeat(
                key=str(key),
                lines=tuple(entries[p][0] for p in positions),
                copies=tuple(copies),
                copy_lines=tuple(entries[p][0] for p in copies),
            )
        )
    return repeats


def without_copies(items: Sequence[Any], repeats: list[Repeat]) -> list[Any]:
    """``items`` (parallel to what :func:`find_repeats` was given) minus the exact copies."""
    dropped = {position for repeat in repeats for position in repeat.copies}
    return [item for position, item in enumerate(items) if position not in dropped]


def warn_repeats(path: str, repeats: list[Repeat], *, what: str = "video") -> None:
    """One warning for the whole file (nothing when there are no repeats)."""
    if not repeats:
        return
    shown = "; ".join(_describe(repeat) for repeat in repeats[:_SHOWN])
    more = f"; and {len(repeats) - _SHOWN} more" if len(repeats) > _SHOWN else ""
    copies = sum(len(repeat.copies) for repeat in repeats)
    count = f"1 {what} is" if len(repeats) == 1 else f"{len(repeats)} {what}s are"
    logger.warning(
        "%s: %s listed more than once: %s%s. %d exact copies were dropped; entries that differ are kept",
        path,
        count,
        shown,
        more,
        copies,
    )


def _describe(repeat: Repeat) -> str:
    lines = ", ".join(map(str, repeat.lines))
    copies = f" (line {', '.join(map(str, repeat.copy_lines))}: identical copy, dropped)" if repeat.copies else ""
    return f"{repeat.key!r} at lines {lines}{copies}"
