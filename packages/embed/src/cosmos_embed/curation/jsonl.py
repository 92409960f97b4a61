"""JSON Lines outputs, written atomically (a killed run leaves the old file or the new one)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from cosmos_core.io import write_atomically


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    def write(handle: IO[bytes]) -> None:
        for row in rows:
            handle.write(json.dumps(row, default=str).encode() + b"\n")

    return write_atomically(path, write)
