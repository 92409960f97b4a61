"""The progress bar of the conversions (tqdm on stderr, counting bytes)."""

from __future__ import annotations

from typing import Any


def byte_progress(total: int, description: str, *, enabled: bool = True) -> Any:
    """A tqdm bar over ``total`` bytes with rate and ETA; a context manager with ``update(n)``."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=1.0,
    )
