"""Getting each source video into ``videos_orig/<video_id>.mp4``: local files, direct links, YouTube."""

from __future__ import annotations

import os
from pathlib import Path

from cosmos_core.io import link_atomically, temp_path_for

from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.preprocess.hdvila import ClipRow, local_path, url_kind

YOUTUBE_EXTRA = "youtube"


def check_youtube_support(videos: list[list[ClipRow]]) -> None:
    """Stop before any work when YouTube URLs are asked for and ``pytubefix`` is missing."""
    youtube = [clips[0] for clips in videos if url_kind(clips[0].url) == "youtube"]
    if not youtube:
        return
    try:
        import pytubefix  # noqa: F401
    except ImportError:
        raise PrepareError(
            f"{len(youtube)} of the {len(videos)} selected videos are YouTube URLs (first: {youtube[0].source}), "
            f"which need the optional package pytubefix: pip install 'cosmos-transfer[{YOUTUBE_EXTRA}]'. "
            "Or give local files instead: put local paths or direct http(s) links to the videos in the JSONL's "
            "url fields, or use --input_dir with a folder of .mp4 files and <name>.txt captions."
        ) from None


def fetch_source(clip: ClipRow, target: Path, *, base: Path, http_cache) -> Path:
    """Put the source video of ``clip`` at ``target`` (atomically); returns ``target``.

    Local files are hard-linked (copied across file systems); http(s) links go through the
    cosmos-datasets HTTP cache (timeouts, retries, complete files only); YouTube through pytubefix.
    """
    kind = url_kind(clip.url)
    if kind == "local":
        source = local_path(clip.url, base)
        if not source.is_file():
            raise FileNotFoundError(f"{clip.source}: source video {source} not found")
        return link_atomically(source, target)
    if kind == "http":
        return link_atomically(http_cache.fetch(clip.url), target)
    return _download_youtube(clip.url, target)


def _download_youtube(url: str, target: Path) -> Path:
    from pytubefix import YouTube

    partial = temp_path_for(target)
    try:
        stream = YouTube(url).streams.get_highest_resolution()
        if stream is None:
            raise FileNotFoundError(f"{url}: no progressive mp4 stream offered")
        stream.download(output_path=str(partial.parent), filename=partial.name)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
