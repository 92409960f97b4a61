"""HD-VILA-100M metadata rows (the JSONL the reference's ``scripts/download_diffusion_example_data.py`` reads).

Each line is one clip of a source video::

    {"video_id": "...", "url": "https://www.youtube.com/watch?v=...", "clip_id": "<video_id>.<n>.mp4",
     "span_start": "00:01:02.500", "span_end": "00:01:09.000", "caption": "..."}

The url may also be a local path (absolute, or relative to the JSONL's folder), a ``file://`` URL or
a direct http(s) link to a video file.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
from cosmos_datasets.errors import MetadataError

REQUIRED_FIELDS = ("url", "video_id", "clip_id", "span_start", "span_end", "caption")
YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "music.youtube.com")


@attrs.frozen
class ClipRow:
    """One JSONL line: a clip (a span of a source video) and its caption."""

    row: dict[str, Any]
    source: str
    """``file:line`` of the row, for messages."""
    start_sec: float
    end_sec: float

    @property
    def url(self) -> str:
        return str(self.row["url"])

    @property
    def video_id(self) -> str:
        return str(self.row["video_id"])

    @property
    def clip_name(self) -> str:
        """``clip_id`` without ``.mp4``: the clip's name in every dataset folder."""
        return str(self.row["clip_id"]).removesuffix(".mp4")

    @property
    def caption(self) -> str:
        return str(self.row["caption"]).strip()


def parse_timestamp(text: str, where: str) -> float:
    """Seconds of ``HH:MM:SS(.fff)``.

    (The reference's converter reads the fraction as milliseconds whatever its digits, so "05.5"
    became 5.005 s; here the fraction is a plain decimal.)
    """
    try:
        hours, minutes, seconds = str(text).split(":")
        value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        raise MetadataError(f"{where}: span time {text!r} is not HH:MM:SS.fff") from None
    if value < 0:
        raise MetadataError(f"{where}: span time {text!r} is negative")
    return value


def read_hdvila_jsonl(path: str | os.PathLike[str]) -> list[ClipRow]:
    """Every row of the JSONL, checked: the fields present, the span ending after it starts."""
    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"{path}: no such file (download the HD-VILA-100M JSONL, or give --jsonl or --input_dir)")
    rows = []
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise MetadataError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
            if not isinstance(row, dict):
                raise MetadataError(f"{where}: each line must be a JSON object")
            missing = [field for field in REQUIRED_FIELDS if field not in row]
            if missing:
                raise MetadataError(
                    f"{where}: missing field(s) {', '.join(missing)} (an HD-VILA row has {', '.join(REQUIRED_FIELDS)})"
                )
            start = parse_timestamp(row["span_start"], where)
            end = parse_timestamp(row["span_end"], where)
            if end <= start:
                raise MetadataError(f"{where}: span_end {row['span_end']} is not after span_start {row['span_start']}")
            rows.append(ClipRow(row=row, source=where, start_sec=start, end_sec=end))
    return rows


def select_videos(rows: Iterable[ClipRow], n_videos: int, clips_per_video: int) -> list[list[ClipRow]]:
    """The clips of the first ``n_videos`` distinct source videos (by url), at most ``clips_per_video`` each
    (0: all), in file order. The reference takes one clip per video."""
    videos: dict[str, list[ClipRow]] = {}
    for row in rows:
        clips = videos.get(row.url)
        if clips is None:
            if len(videos) >= n_videos:
                continue
            clips = videos[row.url] = []
        if clips_per_video == 0 or len(clips) < clips_per_video:
            clips.append(row)
    return list(videos.values())


def url_kind(url: str) -> str:
    """``"youtube"``, ``"http"`` (a direct link) or ``"local"``."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("http", "https"):
        return "youtube" if parsed.hostname in YOUTUBE_HOSTS else "http"
    return "local"


def local_path(url: str, base: Path) -> Path:
    """The file a local url names: ``file://`` URLs and paths, relative ones against ``base``."""
    parsed = urllib.parse.urlparse(url)
    path = Path(urllib.parse.unquote(parsed.path)) if parsed.scheme == "file" else Path(os.path.expanduser(url))
    return path if path.is_absolute() else base / path
