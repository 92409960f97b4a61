"""What the three data actions share: the progress bar, stale temporaries, the tally of failures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import attrs
from cosmos_core.io import remove_stale_temp_files

logger = logging.getLogger("cosmos.transfer")


def progress_bar(total: int, description: str, unit: str = "clip") -> Any:
    """A tqdm bar with rate and ETA (on stderr; plain lines when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True, mininterval=1.0)


def clean_outputs(*folders: Path) -> None:
    """Remove what an interrupted predecessor left half-written in the output folders."""
    for folder in folders:
        for path in remove_stale_temp_files(folder):
            logger.info("removed %s, left by an interrupted write", path)


@attrs.define
class Tally:
    """Counts of one action's work, and the failures with their reasons."""

    done: int = 0
    existing: int = 0
    failures: list[str] = attrs.field(factory=list)
    failed_ids: set[str] = attrs.field(factory=set)

    def fail(self, what: str, reason: object, *, key: str | None = None) -> None:
        """Record a failure; ``key`` names the failed item for later steps (a video id)."""
        self.failures.append(f"{what}: {reason}")
        if key is not None:
            self.failed_ids.add(key)
        logger.warning("%s: %s", what, reason)

    def report_failures(self) -> str:
        """Log the failures together; returns the summary's mention of them ("" when none)."""
        if not self.failures:
            return ""
        logger.warning("%d failed:\n  %s", len(self.failures), "\n  ".join(self.failures))
        return f", {len(self.failures)} failed (listed above)"

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0
