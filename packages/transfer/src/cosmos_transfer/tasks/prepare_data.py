"""``cosmos-run cosmos-transfer1 prepare_data``: videos and captions, as ``scripts/download_diffusion_example_data.py``.

From an HD-VILA-100M JSONL (``<dataset_path>/hdvila-100M.jsonl`` or ``--jsonl``):

- ``--do_download``: the source video of each of the first ``--N_videos`` distinct URLs into
  ``videos_orig/<video_id>.mp4`` (local paths linked, http(s) through the download cache, YouTube
  through the optional pytubefix), and ``metas/<clip>.txt`` (caption) and ``metas/<clip>.json`` (the
  row) for its clips (``--clips_per_video``, 1 as in the reference; 0 for every span);
- ``--do_clip``: each of those clips cut from its source into ``videos/<clip>.mp4``.

From a folder (``--input_dir``) of ``<name>.mp4`` videos with ``<name>.txt`` captions: each video
(the first ``--N_videos``) linked into ``videos/`` with its caption and a JSON meta in ``metas/``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cosmos_core.io import link_atomically, write_text_atomically

from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.tasks.common import Tally, clean_outputs, logger, progress_bar

JSONL_NAME = "hdvila-100M.jsonl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset_path", default="datasets/hdvila", help="root of the dataset (default: %(default)s)")
    parser.add_argument(
        "--N_videos", type=int, default=128, help="number of source videos to use (default: %(default)s)"
    )
    parser.add_argument("--do_download", action="store_true", help="fetch the source videos and write metas/")
    parser.add_argument("--do_clip", action="store_true", help="cut the clips of the fetched videos into videos/")
    parser.add_argument("--jsonl", help=f"the HD-VILA-100M JSONL (default: <dataset_path>/{JSONL_NAME})")
    parser.add_argument(
        "--clips_per_video", type=int, default=1, help="clips (spans) taken per source video; 0: all (default: 1)"
    )
    parser.add_argument(
        "--input_dir", help="instead of a JSONL: a folder of <name>.mp4 videos with <name>.txt captions"
    )
    parser.add_argument("--cache_dir", help="where http(s) downloads are cached (default: ~/.cache/cosmos-run/http)")


def run(args: argparse.Namespace, ctx: Any) -> int:
    layout = DatasetLayout(args.dataset_path)
    if args.N_videos < 1:
        raise PrepareError(f"--N_videos must be at least 1, got {args.N_videos}")
    if args.clips_per_video < 0:
        raise PrepareError(f"--clips_per_video must be 0 (all) or more, got {args.clips_per_video}")
    if args.input_dir:
        return _from_folder(args, ctx, layout)
    if not (args.do_download or args.do_clip):
        raise PrepareError("nothing to do: give --do_download and/or --do_clip (or --input_dir for a folder of videos)")
    from cosmos_transfer.preprocess.hdvila import read_hdvila_jsonl, select_videos
    from cosmos_transfer.preprocess.sources import check_youtube_support

    jsonl = Path(args.jsonl) if args.jsonl else layout.root / JSONL_NAME
    videos = select_videos(read_hdvila_jsonl(jsonl), args.N_videos, args.clips_per_video)
    if not videos:
        raise PrepareError(f"{jsonl} holds no rows")
    if args.do_download:
        check_youtube_support(videos)
    with ctx.open_run(folder=layout.root, logs=False) as run_:
        downloads, cuts = Tally(), Tally()
        if args.do_download:
            _download(videos, layout, jsonl.parent, args.cache_dir, downloads)
        if args.do_clip:  # a video whose download just failed is reported once, not again for each clip
            _clip([clips for clips in videos if clips[0].video_id not in downloads.failed_ids], layout, cuts)
        failures = downloads.failures + cuts.failures
        parts = [f"{len(videos)} source videos"]
        if args.do_download:
            parts.append(f"{downloads.done} downloaded, {downloads.existing} already in {layout.videos_orig_dir}")
        if args.do_clip:
            parts.append(f"{cuts.done} clips cut, {cuts.existing} already in {layout.videos_dir}")
        if failures:
            logger.warning("%d failed:\n  %s", len(failures), "\n  ".join(failures))
            parts.append(f"{len(failures)} failed (listed above)")
        run_.summary(
            f"prepare_data: {'; '.join(parts)}; next: cosmos-run cosmos-transfer1 t5_embeddings "
            f"--dataset_path {layout.root}"
        )
    return 1 if failures else 0


def _write_metas(layout: DatasetLayout, name: str, caption: str, row: dict[str, Any]) -> None:
    write_text_atomically(layout.caption(name), caption)
    write_text_atomically(layout.meta(name), json.dumps(row) + "\n")


def _download(videos, layout: DatasetLayout, base: Path, cache_dir: str | None, tally: Tally) -> None:
    from cosmos_datasets.http_cache import FetchError, HttpCache, default_cache_dir

    from cosmos_transfer.preprocess.sources import fetch_source

    http_cache = HttpCache(cache_dir or default_cache_dir())
    for folder in (layout.videos_orig_dir, layout.metas_dir):
        folder.mkdir(parents=True, exist_ok=True)
    clean_outputs(layout.videos_orig_dir, layout.metas_dir)
    with progress_bar(len(videos), "download", unit="video") as bar:
        for clips in videos:
            target = layout.videos_orig_dir / f"{clips[0].video_id}.mp4"
            try:
                if target.is_file():
                    tally.existing += 1
                else:
                    fetch_source(clips[0], target, base=base, http_cache=http_cache)
                    tally.done += 1
                for clip in clips:
                    _write_metas(layout, clip.clip_name, clip.caption, clip.row)
            except (OSError, FetchError) as err:
                tally.fail(f"{clips[0].source} ({clips[0].url})", err, key=clips[0].video_id)
            except Exception as err:  # noqa: BLE001 - pytubefix raises its own types for unavailable videos
                tally.fail(f"{clips[0].source} ({clips[0].url})", f"{type(err).__name__}: {err}", key=clips[0].video_id)
            bar.update(1)


def _clip(videos, layout: DatasetLayout, tally: Tally) -> None:
    from cosmos_datasets.errors import VideoDecodeError

    from cosmos_transfer.preprocess.clips import cut_clip

    layout.videos_dir.mkdir(parents=True, exist_ok=True)
    clean_outputs(layout.videos_dir)
    clips = [clip for group in videos for clip in group]
    with progress_bar(len(clips), "clip") as bar:
        for clip in clips:
            target = layout.video(clip.clip_name)
            source = layout.videos_orig_dir / f"{clip.video_id}.mp4"
            if target.is_file():
                tally.existing += 1
            elif not source.is_file():
                tally.fail(clip.source, f"source video {source} not found (run with --do_download first)")
            else:
                try:
                    frames = cut_clip(source, target, clip.start_sec, clip.end_sec)
                    if not layout.caption(clip.clip_name).is_file():
                        _write_metas(layout, clip.clip_name, clip.caption, clip.row)
                    logger.debug("%s: %d frames", target, frames)
                    tally.done += 1
                except VideoDecodeError as err:
                    tally.fail(clip.source, err)
            bar.update(1)


def _from_folder(args: argparse.Namespace, ctx: Any, layout: DatasetLayout) -> int:
    from cosmos_transfer.preprocess.video_folder import read_video_folder

    clips, uncaptioned = read_video_folder(Path(args.input_dir))
    clips = clips[: args.N_videos]
    with ctx.open_run(folder=layout.root, logs=False) as run_:
        for folder in (layout.videos_dir, layout.metas_dir):
            folder.mkdir(parents=True, exist_ok=True)
        clean_outputs(layout.videos_dir, layout.metas_dir)
        tally = Tally()
        for video in uncaptioned:
            logger.warning("%s has no caption file %s; left out", video, video.with_suffix(".txt").name)
        with progress_bar(len(clips), "prepare") as bar:
            for clip in clips:
                if layout.video(clip.name).is_file() and layout.caption(clip.name).is_file():
                    tally.existing += 1
                else:
                    link_atomically(clip.video, layout.video(clip.name))
                    row = {
                        "video_id": clip.name,
                        "clip_id": f"{clip.name}.mp4",
                        "url": str(clip.video),
                        "caption": clip.caption,
                    }
                    _write_metas(layout, clip.name, clip.caption, row)
                    tally.done += 1
                bar.update(1)
        run_.summary(
            f"prepare_data: {len(clips)} clips in {layout.videos_dir} and {layout.metas_dir} ({tally.done} written, "
            f"{tally.existing} already there, {len(uncaptioned)} videos without caption left out); next: "
            f"cosmos-run cosmos-transfer1 t5_embeddings --dataset_path {layout.root}"
        )
    return 0
