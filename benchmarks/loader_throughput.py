"""Video loader throughput (clips/s) against raw decord decoding of the same frames, in paired rounds.

    python benchmarks/loader_throughput.py                       # 720p and 224p, 1 and 2 workers, 5 rounds
    python benchmarks/loader_throughput.py --workers 4 --sizes 224p --rounds 7
    python benchmarks/loader_throughput.py --record benchmarks/results/loader_throughput.md

For each source size (720p: 1280x720, 224p: 400x224) the script writes H.264 clips with
``cosmos_datasets.samples.write_video`` (3 s at 30 fps, x264 defaults: one keyframe per clip, a moving
shape over a drifting texture with mild noise) and compares, for each worker count N:

- loader: what training runs: the ``vad_r1`` dataset from the plugin registry (``training=True``,
  so wrapped as training wraps it) over a metadata file, iterated through
  ``cosmos_datasets.loader.build_dataloader`` with ``workers=N`` and the config's default batch
  size, frame count and resolution (8 frames scaled to 224x224 by decord while decoding);
- raw: N processes of a fork ``multiprocessing.Pool`` running ``decord.VideoReader(path, width=224,
  height=224, num_threads=1).get_batch(indices)`` on the same clip list and the same frame indices:
  the same decode and scale work, without dataset, collate and worker-to-main transfer.

Both sides start their N processes inside the timed section (a DataLoader without persistent workers
starts them every epoch). A pilot pass warms the page cache and the decoder and sizes the rounds so
one round lasts about ``--seconds``; then the rounds alternate loader, raw, loader, raw, ... over the
same clip list, and each loader round is paired with the raw round right after it. The ratio
``loader clips/s / raw clips/s`` of each pair is the share of raw decode throughput the loader reaches
with the same number of processes (target: at least 0.90); the report gives its median, min and max
over the pairs. It also gives the CPU seconds per clip of each side (the main process plus its reaped
worker processes), the per-core cost, which other jobs on the machine slow down less than wall time,
and how many cores other jobs kept busy during the rounds (from ``/proc/stat``): a run where that is
well above zero measured a shared machine, and its ratios are noisy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import multiprocessing
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import decord
import numpy as np
import torch
from cosmos_core.plugins import PluginHost, load_plugins
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.samples import write_video
from cosmos_datasets.video.sampling import VideoInfo, clip_indices
from recording import append_record, machine

SIZES = {"720p": (720, 1280), "224p": (224, 400)}
FPS, SECONDS, DISTINCT = 30, 3, 4
TARGET = 0.90


@dataclass(frozen=True)
class Timing:
    """One timed pass over a clip list.

    ``cpu``: CPU seconds of this process and its reaped children (the workers); ``others``: CPU seconds
    the rest of the machine used meanwhile (from ``/proc/stat``), to see whether other jobs competed.
    """

    wall: float
    cpu: float
    others: float


@dataclass
class Result:
    """Paired rounds of one source size and worker count."""

    size: str
    workers: int
    clips: int
    loader: list[Timing] = field(default_factory=list)
    raw: list[Timing] = field(default_factory=list)

    def ratios(self) -> list[float]:
        """Loader clips/s over raw clips/s per pair (same clip count, so raw wall over loader wall)."""
        return [raw.wall / loader.wall for loader, raw in zip(self.loader, self.raw, strict=True)]

    def clips_per_second(self, timings: list[Timing]) -> float:
        return self.clips / statistics.median(t.wall for t in timings)

    def cpu_per_clip(self, timings: list[Timing]) -> float:
        return statistics.median(t.cpu for t in timings) / self.clips

    def other_cores(self) -> float:
        """Cores that other jobs kept busy, on average over all rounds of both sides."""
        rounds = self.loader + self.raw
        return sum(t.others for t in rounds) / sum(t.wall for t in rounds)


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


def clip_list(folder: Path, rendered: list[Path], count: int) -> list[Path]:
    """``count`` distinct file names in ``folder``, hard links to the ``rendered`` clips in turn."""
    clips = []
    for i in range(count):
        clip = folder / f"clip_{i:04d}.mp4"
        if not clip.exists():
            os.link(rendered[i % len(rendered)], clip)
        clips.append(clip)
    return clips


def frame_plan(path: Path, frames: int) -> list[int]:
    """The frame indices the loader decodes for ``path`` (same sampler, same timestamps)."""
    reader = decord.VideoReader(str(path), num_threads=1)
    starts = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0]
    info = VideoInfo(len(reader), float(reader.get_avg_fps()), tuple((starts - starts[0]).tolist()))
    return clip_indices(info, frames)


def timed(run: Callable[[], int], expected: int) -> Timing:
    """Time ``run``, which must return ``expected`` (the clips it produced)."""
    cpu_before, busy_before = _cpu_seconds(), _machine_busy_seconds()
    start = time.perf_counter()
    produced = run()
    wall = time.perf_counter() - start
    if produced != expected:
        raise RuntimeError(f"expected {expected} clips, got {produced}")
    cpu = _cpu_seconds() - cpu_before
    return Timing(wall, cpu, max(0.0, _machine_busy_seconds() - busy_before - cpu))


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _machine_busy_seconds() -> float:
    """Non-idle CPU seconds of the whole machine since boot (all but idle and iowait in ``/proc/stat``)."""
    with open("/proc/stat") as handle:
        ticks = [int(v) for v in handle.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _raw_decode(task: tuple[str, list[int], tuple[int, int]]) -> int:
    path, indices, (height, width) = task
    reader = decord.VideoReader(path, width=width, height=height, num_threads=1)
    return 1 if reader.get_batch(indices).asnumpy().shape[1:] == (height, width, 3) else 0


def raw_pass(tasks: list[tuple[str, list[int], tuple[int, int]]], workers: int) -> Callable[[], int]:
    """One pass of ``workers`` fresh fork processes decoding ``tasks``; returns the clips decoded."""

    def run() -> int:
        pool = multiprocessing.get_context("fork").Pool(workers)
        decoded = sum(pool.imap_unordered(_raw_decode, tasks, chunksize=1))
        pool.close()
        pool.join()  # reaped, so the workers' CPU time is counted
        return decoded

    return run


def loader_pass(clips: list[Path], workers: int, folder: Path, host: PluginHost) -> tuple[Callable[[], int], dict]:
    """One epoch of the training loader over ``clips``; returns it and the dataset config it uses."""
    metadata = folder / f"metadata_{len(clips)}_{workers}.json"
    metadata.write_text(json.dumps([{"path": str(clip), "anomaly_type": "a red square"} for clip in clips]))
    config = SingleDatasetConfig(dataset_type="vad_r1", metadata=str(metadata), workers=workers, drop_last=False)
    dataset = host.datasets.get(config.dataset_type)(config, training=True)
    loader = build_dataloader(dataset, config)

    def run() -> int:
        return sum(batch["video"].shape[0] for batch in loader)

    shown = {k: getattr(config, k) for k in ("batch_size", "num_video_frames", "resolution", "prefetch_factor")}
    return run, shown


def measure(
    size: str, rendered: list[Path], workers: int, rounds: int, seconds: float, folder: Path, host: PluginHost
) -> tuple[Result, dict]:
    """Pilot pass (warm-up and round sizing), then ``rounds`` alternating loader and raw rounds."""
    defaults = SingleDatasetConfig(dataset_type="vad_r1")
    frames, output = defaults.num_video_frames, tuple(defaults.resolution)
    step = defaults.batch_size * workers  # whole batches for every worker: no half-idle tail on either side
    plans = {path: frame_plan(path, frames) for path in rendered}

    def tasks_for(clips: list[Path]) -> list[tuple[str, list[int], tuple[int, int]]]:
        return [(str(c), plans[rendered[i % len(rendered)]], output) for i, c in enumerate(clips)]

    pilot = clip_list(folder, rendered, step)
    timed(loader_pass(pilot, workers, folder, host)[0], len(pilot))
    warm = timed(raw_pass(tasks_for(pilot), workers), len(pilot))
    count = step * max(1, math.ceil(len(pilot) / warm.wall * seconds / step))
    clips = clip_list(folder, rendered, count)
    run_loader, shown = loader_pass(clips, workers, folder, host)
    run_raw = raw_pass(tasks_for(clips), workers)
    result = Result(size, workers, count)
    for _ in range(rounds):
        result.loader.append(timed(run_loader, count))
        result.raw.append(timed(run_raw, count))
    return result, shown


def wait_for_quiet(limit: float, poll: float, patience: float) -> tuple[float, float]:
    """Wait until the 1-minute load average is at most ``limit`` (polling, up to ``patience`` s).

    Returns (load when measuring starts, seconds waited); measuring starts anyway after ``patience``.
    """
    waited = 0.0
    while (load := os.getloadavg()[0]) > limit and waited < patience:
        print(f"1-min load {load:.2f} > {limit}: waiting {poll:.0f} s ({waited:.0f} s so far)", flush=True)
        time.sleep(poll)
        waited += poll
    return load, waited


def summary(r: Result) -> dict[str, str]:
    ratios = r.ratios()
    loader_cpu, raw_cpu = r.cpu_per_clip(r.loader), r.cpu_per_clip(r.raw)
    median = statistics.median(ratios)
    return {
        "source": r.size,
        "workers": str(r.workers),
        "clips per round": str(r.clips),
        "round s (loader)": f"{statistics.median(t.wall for t in r.loader):.1f}",
        "loader clips/s": f"{r.clips_per_second(r.loader):.1f}",
        "raw clips/s": f"{r.clips_per_second(r.raw):.1f}",
        "loader/raw median [min, max]": f"{median:.2f} [{min(ratios):.2f}, {max(ratios):.2f}]",
        "CPU s/clip loader, raw": f"{loader_cpu:.3f}, {raw_cpu:.3f}",
        "raw/loader CPU per clip": f"{raw_cpu / loader_cpu:.2f}",
        "other jobs' cores": f"{r.other_cores():.2f}",
        f">= {TARGET:.2f}": "yes" if median >= TARGET else "**no**",
    }


def table(rows: list[dict[str, str]]) -> list[str]:
    header = list(rows[0])
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row[k] for k in header) + " |" for row in rows),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="worker counts N (default: 1 2)")
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds per size and N (default: 5)")
    parser.add_argument("--seconds", type=float, default=4.0, help="target length of one round (default: 4)")
    parser.add_argument("--max-load", type=float, default=1.0, help="wait until the 1-min load is at most this")
    parser.add_argument("--patience", type=float, default=300.0, help="seconds to wait for --max-load at most")
    parser.add_argument("--record", type=Path, help="append the results as Markdown to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1 or min(args.workers) < 1:
        parser.error("--rounds and --workers must be at least 1")

    load_start, waited = wait_for_quiet(args.max_load, 20.0, args.patience)
    print(f"1-min load {load_start:.2f} at start (waited {waited:.0f} s); {machine()}", flush=True)
    started = time.perf_counter()
    host = load_plugins()
    rows, shown = [], {}
    with tempfile.TemporaryDirectory(prefix="loader_bench_") as tmp:
        for size in args.sizes:
            folder = Path(tmp) / size
            folder.mkdir()
            rendered = [
                write_video(folder / f"rendered_{i}.mp4", render(SIZES[size], i), fps=FPS) for i in range(DISTINCT)
            ]
            for workers in args.workers:
                result, shown = measure(size, rendered, workers, args.rounds, args.seconds, folder, host)
                rows.append(summary(result))
                print(
                    f"{size} N={workers}: {result.clips} clips/round, ratios "
                    + " ".join(f"{x:.2f}" for x in result.ratios())
                    + f"; other jobs kept {result.other_cores():.2f} cores busy",
                    flush=True,
                )
    load_end = os.getloadavg()[0]
    elapsed = time.perf_counter() - started
    print("\n".join(table(rows)))
    print(f"loader config: {shown}; 1-min load {load_start:.2f} before, {load_end:.2f} after; {elapsed:.0f} s")
    if args.record:
        record(args, rows, shown, (load_start, waited, load_end), elapsed)
    return 0


def record(
    args: argparse.Namespace, rows: list[dict[str, str]], shown: dict, load: tuple[float, float, float], elapsed: float
) -> None:
    command = shlex.join(["python", "benchmarks/loader_throughput.py", *sys.argv[1:]])
    load_start, waited, load_end = load
    lines = [
        "",
        f"### {datetime.datetime.now().isoformat(timespec='minutes')}: {machine()}",
        "",
        f"`{command}`; torch {torch.__version__}, decord {decord.__version__}, Python {platform.python_version()}; "
        f"{args.rounds} paired rounds of about {args.seconds} s; loader config {shown}.",
        f"1-min load average {load_start:.2f} when measuring started (after waiting {waited:.0f} s for <= "
        f"{args.max_load}), {load_end:.2f} at the end (this includes the benchmark's own processes); "
        f"{elapsed:.0f} s in all.",
        "",
        *table(rows),
    ]
    append_record(args.record, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
