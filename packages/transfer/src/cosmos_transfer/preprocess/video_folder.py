"""A folder of ``<name>.mp4`` videos with ``<name>.txt`` captions beside them, as prepare_data input."""

from __future__ import annotations

from pathlib import Path

import attrs

from cosmos_transfer.preprocess.errors import PrepareError


@attrs.frozen
class FolderClip:
    name: str
    video: Path
    caption: str


def read_video_folder(folder: Path) -> tuple[list[FolderClip], list[Path]]:
    """``(clips, videos without a caption file)``, sorted by name."""
    if not folder.is_dir():
        raise PrepareError(f"--input_dir {folder}: no such folder")
    clips, uncaptioned = [], []
    for video in sorted(folder.glob("*.mp4")):
        caption_file = video.with_suffix(".txt")
        if caption_file.is_file():
            clips.append(FolderClip(video.stem, video, caption_file.read_text(encoding="utf-8-sig").strip()))
        else:
            uncaptioned.append(video)
    if not clips:
        raise PrepareError(
            f"--input_dir {folder}: no .mp4 file with a .txt caption beside it ({len(uncaptioned)} videos without)"
        )
    return clips, uncaptioned
