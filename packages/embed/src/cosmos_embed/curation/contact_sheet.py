"""Contact sheets: one PNG per query with the thumbnails of its top-K clips (middle frame, rank, score)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from cosmos_core.io import write_atomically
from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.video import read_clip

from cosmos_embed.curation.deps import require

THUMB = 128
PAD = 6
HEADER = 34
LABEL = 30


def thumbnail(hit: Mapping[str, Any], backend: str) -> np.ndarray | None:
    """A frame of the hit's clip (or chunk) as RGB uint8 [THUMB, THUMB, 3]; None when unreadable."""
    try:
        frames = read_clip(hit["path"], 1, (THUMB, THUMB), backend, hit.get("start_sec"), hit.get("end_sec"))
    except (VideoDecodeError, OSError, ValueError):
        return None
    return frames[0].permute(1, 2, 0).numpy()


def write_contact_sheet(path: Path, query: str, hits: Sequence[Mapping[str, Any]], backend: str) -> Path:
    """One row of thumbnails under the query text; each labelled with its rank and score."""
    require("PIL", "the inference.index contact sheet")
    from PIL import Image, ImageDraw

    columns = max(1, len(hits))
    sheet = Image.new("RGB", (PAD + columns * (THUMB + PAD), HEADER + THUMB + LABEL + PAD), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    draw.text((PAD, PAD), textwrap.shorten(f"query: {query}", width=max(20, columns * 20)), fill=(0, 0, 0))
    for column, hit in enumerate(hits):
        x = PAD + column * (THUMB + PAD)
        frame = thumbnail(hit, backend)
        if frame is None:
            draw.rectangle([x, HEADER, x + THUMB - 1, HEADER + THUMB - 1], fill=(180, 180, 180))
            draw.text((x + 4, HEADER + THUMB // 2), "unreadable", fill=(90, 0, 0))
        else:
            sheet.paste(Image.fromarray(frame), (x, HEADER))
        draw.text((x, HEADER + THUMB + 2), f"#{hit['rank']}  {hit['score']:.3f}", fill=(0, 0, 0))
        draw.text((x, HEADER + THUMB + 15), textwrap.shorten(Path(hit["path"]).name, width=20), fill=(60, 60, 60))
    return write_atomically(path, lambda handle: sheet.save(handle, format="PNG"))
