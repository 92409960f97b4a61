"""``video_folder``: every video under a folder, captioned by a sidecar text file or its class folder.

    data_root/                      data_root/train/ when split: train
      clip_001.mp4                  any of .mp4 .mov .mkv .webm .avi .m4v, in subfolders too
      clip_001.txt                  one caption per line; the first is the primary caption
      juggling/clip_002.mp4         no sidecar: the folder name is the caption ("juggling";
                                    underscores become spaces)

A video in ``data_root`` itself without a sidecar has no caption; it is skipped and counted under
"missing caption" (or stops the build when ``skip_missing_files`` is false). Labels come from
``caption_to_label`` or are positions in the sorted set of primary captions; with ``random_caption`` a
training sample's caption is drawn from all lines of its sidecar.
"""

from __future__ import annotations

from pathlib import Path

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import BuildSkip, Clip, ClipDataset
from cosmos_datasets.entries import VIDEO_EXTENSIONS
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.labels import LabelMap

from cosmos_plugin_video_folder.options import VideoFolderOptions

DATASET_TYPE = "video_folder"
MISSING_CAPTION = "missing caption"


class VideoFolderDataset(ClipDataset):
    """One sample per video file under the folder; see the module docstring."""

    dataset_type = DATASET_TYPE

    def __init__(
        self, config: SingleDatasetConfig, *, training: bool, options: VideoFolderOptions | None = None
    ) -> None:
        suffix = (options or VideoFolderOptions()).caption_suffix
        root = folder_of(config, suffix)
        videos = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        captioned: list[tuple[Path, tuple[str, ...], str]] = []
        uncaptioned: list[BuildSkip] = []
        for video in videos:
            captions, source = captions_of(video, root, suffix)
            if captions:
                captioned.append((video, captions, source))
            else:
                problem = f"no {video.stem}{suffix} beside {video.name} and no class folder to name it"
                uncaptioned.append(BuildSkip(str(video), MISSING_CAPTION, problem, source))
        labels = LabelMap.for_captions(config.caption_to_label, [captions[0] for _, captions, _ in captioned])
        clips = [
            Clip(str(video), captions, source, label=labels.label_of(captions[0], source))
            for video, captions, source in captioned
        ]
        super().__init__(
            config,
            clips,
            training=training,
            labels=labels,
            described=f"{len(videos)} videos under {root}",
            unresolved=uncaptioned,
        )


def folder_of(config: SingleDatasetConfig, suffix: str = ".txt") -> Path:
    """``data_root``, or its ``split`` subfolder when a split is set."""
    if not config.data_root:
        raise DatasetConfigError(
            f"dataset_type {DATASET_TYPE!r} needs data_root: the folder that holds the videos and their "
            f"{suffix} captions"
        )
    root = Path(config.data_root)
    if config.split is not None:
        root = root / config.split
    if not root.is_dir():
        detail = f" (split {config.split!r} reads data_root/{config.split})" if config.split is not None else ""
        raise DatasetConfigError(f"{DATASET_TYPE}: {root} is not a folder{detail}")
    return root


def captions_of(video: Path, root: Path, suffix: str = ".txt") -> tuple[tuple[str, ...], str]:
    """``(captions, where they came from)``; no captions when neither a sidecar nor a class folder names it."""
    sidecar = video.with_suffix(suffix)
    if sidecar.is_file():
        try:
            lines = [line.strip() for line in sidecar.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as err:
            raise MetadataError(f"{sidecar}: cannot read the caption file ({err})") from err
        captions = tuple(line for line in lines if line)
        if not captions:
            raise MetadataError(f"{sidecar}: the caption file is empty; write one caption per line")
        return captions, str(sidecar)
    if video.parent != root:
        return (video.parent.name.replace("_", " "),), str(video)
    return (), str(video)
