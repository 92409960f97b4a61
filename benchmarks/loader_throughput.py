"""Video loader throughput (clips/s) against raw decord decoding of the same frames, in one run.

    python benchmarks/loader_throughput.py                          # both sizes, one worker per core
    python benchmarks/loader_throughput.py --workers 4 --sizes 224p
    python benchmarks/loader_throughput.py --record benchmarks/results/loader_throughput.md

For each source size (720p: 1280x720, 224p: 400x224) the script writes H.264 clips (3 s at 30 fps,
x264 defaults as most short clips are encoded: one keyframe per clip, a moving shape over a textured
background with mild noise) and then measures, with the same number of processes W:

- raw: W processes running ``decord.VideoReader(path, num_threads=1).get_batch(indices)`` on the
  frames the loader picks, at the source size: the least work any loader must do;
- raw+scale: the same with decord scaling to the output size while decoding (what the loader asks for);
- loader: cosmos-run's path end to end: a ``vad_r1`` dataset over a metadata file, ``build_dataloader``
  with ``workers=W``, batches of uint8 [B, 8, 3, 224, 224] ready for the model.

``loader / raw`` is the share of raw decode throughput per core that the loader reaches (target:
at least 0.90). After a warm-up pass, ``--rounds`` rounds each time the three methods over all clips,
one after the other, and the best round of each method counts: on a shared machine other jobs only
ever slow a round down, so the best round is the closest to what the method can do.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import decord
import numpy as np
import torch
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.samples import write_video
from cosmos_datasets.video.sampling import VideoInfo, clip_indices

SIZES = {"720p": (720, 1280), "224p": (224, 400)}
FPS, SECONDS, FRAMES, OUTPUT = 30, 3, 8, (224, 224)


def render(size: tuple[int, int], seed: int) -> np.ndarray:
    """``SECONDS * FPS`` RGB frames: a red square crossing a drifting texture, with mild noise."""
    height, width = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = np.stack(
        [np.sin(xx / 37.0 + seed) * 60 + 120, np.cos(yy / 23.0) * 60 + 120, (xx + yy) % 256 * 0.5 + 60], axis=-1
    )
    side = height // 8
    frames = np.empty((SECONDS * FPS, height, width, 3), dtype=np.uint8)
    for t in range(len(frames)):
        image = np.roll(texture, 4 * t, axis=1)
        cx = int(width * (0.2 + 0.6 * t / len(frames)))
        image[height // 2 - side : height // 2 + side, max(cx - side, 0) : cx + side] = (220, 40, 40)
        frames[t] = np.clip(image + rng.normal(0, 3, (height, width, 1)), 0, 255)
    return frames


def make_clips(folder: Path, size: tuple[int, int], count: int, distinct: int) -> list[Path]:
    """``count`` clips in ``folder``; ``distinct`` are rendered, the rest are copies (rendering 720p is slow)."""
    folder.mkdir(parents=True, exist_ok=True)
    rendered = [write_video(folder / f"clip_{i:03d}.mp4", render(size, i), fps=FPS) for i in range(distinct)]
    clips = list(rendered)
    for i in range(distinct, count):
        copy = folder / f"clip_{i:03d}.mp4"
        copy.write_bytes(rendered[i % distinct].read_bytes())
        clips.append(copy)
    return clips


def frame_plan(path: Path) -> list[int]:
    """The frames the loader decodes for ``path`` (same sampler, same timestamps)."""
    reader = decord.VideoReader(str(path), num_threads=1)
    starts = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0]
    info = VideoInfo(len(reader), float(reader.get_avg_fps()), tuple((starts - starts[0]).tolist()))
    return clip_indices(info, FRAMES)


def _raw_decode(task: tuple[str, list[int], bool]) -> int:
    path, indices, scale = task
    size = {"width": OUTPUT[1], "height": OUTPUT[0]} if scale else {}
    reader = decord.VideoReader(path, num_threads=1, **size)
    return reader.get_batch(indices).asnumpy().shape[0]


def measure_raw(tasks: list[tuple[str, list[int], bool]], workers: int) -> float:
    """Clips/s of ``workers`` processes decoding ``tasks`` (process start-up included, as for the loader)."""
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        decoded = sum(pool.imap_unordered(_raw_decode, tasks, chunksize=1))
    seconds = time.perf_counter() - start
    assert decoded == FRAMES * len(tasks)
    return len(tasks) / seconds


def measure_loader(clips: list[Path], workers: int, folder: Path) -> float:
    """Clips/s of the cosmos-run loader over ``clips`` (worker start-up included, as in a real epoch)."""
    metadata = folder / "metadata.json"
    entries = [{"path": str(clip), "anomaly_type": "a red square"} for clip in clips]
    metadata.write_text(json.dumps(entries))
    config = SingleDatasetConfig(
        dataset_type="vad_r1",
        metadata=str(metadata),
        num_video_frames=FRAMES,
        resolution=list(OUTPUT),
        batch_size=8,
        workers=workers,
        drop_last=False,
        prefetch_factor=2,
        pin_memory=True,
    )
    loader = build_dataloader(VadR1Dataset(config, training=False), config)
    start = time.perf_counter()
    loaded = sum(batch["video"].shape[0] for batch in loader)
    seconds = time.perf_counter() - start
    assert loaded == len(entries)
    return loaded / seconds


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core)")
    parser.add_argument(
        "--clips", type=int, default=0, help="clips per size (default: 8 per worker at 720p, 64 at 224p)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per method; the best one counts")
    parser.add_argument("--record", type=Path, help="append the results as a Markdown table to this file")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="loader_bench_") as tmp:
        for name in args.sizes:
            count = args.clips or (8 if name == "720p" else 64) * args.workers
            clips = make_clips(Path(tmp) / name, SIZES[name], count, distinct=min(count, 4))
            plans = [frame_plan(clip) for clip in clips]
            raw_tasks = [(str(c), p, False) for c, p in zip(clips, plans, strict=True)]
            scaled_tasks = [(path, plan, True) for path, plan, _ in raw_tasks]
            measure_raw(raw_tasks, args.workers)  # warm-up: page cache, decoder libraries
            raw = scaled = loader = 0.0
            for _ in range(args.rounds):
                raw = max(raw, measure_raw(raw_tasks, args.workers))
                scaled = max(scaled, measure_raw(scaled_tasks, args.workers))
                loader = max(loader, measure_loader(clips, args.workers, Path(tmp) / name))
            rows.append({"size": name, "clips": len(clips), "raw": raw, "raw_scaled": scaled, "loader": loader})
            print(
                f"{name}: {len(clips)} clips x {FRAMES} frames -> {OUTPUT[0]}x{OUTPUT[1]}, {args.workers} workers, "
                f"best of {args.rounds} rounds: "
                f"raw {raw:.1f} clips/s, raw+scale {scaled:.1f}, loader {loader:.1f} "
                f"(loader/raw {loader / raw:.2f}, per core {loader / args.workers:.1f} vs {raw / args.workers:.1f})",
                flush=True,
            )
    if args.record:
        record(args, rows)
    return 0


def record(args: argparse.Namespace, rows: list[dict]) -> None:
    command = " ".join(["python benchmarks/loader_throughput.py", *sys.argv[1:]])
    lines = [
        "",
        f"### {datetime.date.today().isoformat()}: {machine()}, {args.workers} workers, best of {args.rounds} rounds",
        "",
        f"`{command}`; torch {torch.__version__}, decord {decord.__version__}, Python {platform.python_version()}.",
        "",
        "| source | clips per round | raw decord clips/s | raw+scale clips/s | loader clips/s | loader/raw "
        "| loader/raw+scale |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['clips']} | {r['raw']:.1f} | {r['raw_scaled']:.1f} | {r['loader']:.1f} | "
            f"{r['loader'] / r['raw']:.2f} | {r['loader'] / r['raw_scaled']:.2f} |"
        )
    with open(args.record, "a") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
