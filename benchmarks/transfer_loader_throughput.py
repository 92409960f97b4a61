"""Cosmos-Transfer1 training loader throughput (clips/s) against raw decoding of the same frames, in paired rounds.

    python benchmarks/transfer_loader_throughput.py                      # 1 worker, control off and edge, 3 rounds
    python benchmarks/transfer_loader_throughput.py --workers 1 2 --controls none edge vis --rounds 5
    python benchmarks/transfer_loader_throughput.py --record benchmarks/results/transfer_loader_throughput.md

The script writes ``--clips`` 720p clips (1280x720, 24 fps, 130 frames: a square moving over a
blocky texture, libx264 crf 18) with their T5 pickles (``cosmos_transfer.data.samples``), then for
each worker count N and each control (``none``: no control computation; a modality name: that
modality from the plugin registry) compares:

- loader: what training runs: ``TransferDataset(num_frames=121, resolution="720")`` through
  ``build_transfer_dataloader(workers=N)``, one pass over the clips: window draw, 121-frame decode
  scaled to the 16:9 bucket's 1252x704 by the decoder, the control, the aspect-preserving resize,
  padding to 1280x704, the T5 pickle padded to [512, 1024], collate and the transfer to the main process;
- raw: N processes of a fork ``multiprocessing.Pool`` running PyAV on the same clips and the same
  windows (the frame starts the dataset drew): seek to the keyframe before the window, decode the
  121 frames, convert each to planar RGB at 1252x704 (the same swscale call the loader makes) and
  copy it into one fresh [3, 121, 704, 1252] array: the least any loader must do to hand over a clip.

Both sides start their N processes inside the timed section. A pilot pass warms the page cache; then
rounds alternate loader, raw, loader, raw, ... and each loader round is paired with the raw round right
after it. Reported per N and control: median clips/s of each side, the median of the per-pair ratios
``loader/raw`` with min and max (target, control off: at least 0.90), CPU seconds per clip of each side
(the main process plus its reaped workers; clips per CPU second is clips/s per core), and how many cores
other jobs kept busy during the rounds (from ``/proc/stat``), which says how far to trust the wall-clock
figures on a shared machine. With a control on, the ratio measures what the control costs on top of
decoding, not the loader's overhead.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from av.video.reformatter import VideoReformatter
from cosmos_core.plugins import load_plugins
from cosmos_transfer.data.dataset import TransferDataset
from cosmos_transfer.data.layout import DatasetLayout
from cosmos_transfer.data.loader import build_transfer_dataloader
from cosmos_transfer.data.samples import moving_square_frames, write_sample_clip
from recording import append_record, machine

SOURCE = (720, 1280)
FRAMES_PER_CLIP = 130
WINDOW = 121


@dataclass
class Timing:
    seconds: float
    cpu: float
    busy: float
    clips: int


@dataclass
class Result:
    workers: int
    control: str
    loader: list[Timing] = field(default_factory=list)
    raw: list[Timing] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [(r.seconds / r.clips) / (lo.seconds / lo.clips) for lo, r in zip(self.loader, self.raw, strict=True)]

    def other_cores(self) -> float:
        pairs = [*self.loader, *self.raw]
        return max(0.0, (sum(t.busy for t in pairs) - sum(t.cpu for t in pairs)) / sum(t.seconds for t in pairs))


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(run) -> Timing:
    wall, cpu, busy = time.perf_counter(), _cpu_seconds(), _machine_busy_seconds()
    clips = run()
    return Timing(time.perf_counter() - wall, _cpu_seconds() - cpu, _machine_busy_seconds() - busy, clips)


def _raw_decode(task: tuple[str, int, tuple[int, int]]) -> int:
    """Decode frames start..start+120 of a clip, scaled to ``size``, into one [3, 121, h, w] array:
    the least any loader must do to hand over those frames."""
    path, start, (height, width) = task
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None and p.size]
        target = sorted(pts for pts, _ in packets)[start]
        container.seek(max(pts for pts, key in packets if key and pts <= target), stream=stream, backward=True)
        clip = np.empty((3, WINDOW, height, width), dtype=np.uint8)
        reformatter = VideoReformatter()
        filled = 0
        for frame in container.decode(stream):
            if frame.pts < target:
                continue
            scaled = reformatter.reformat(frame, width=width, height=height, format="gbrp", interpolation="BICUBIC")
            for channel, plane in zip((1, 2, 0), scaled.planes, strict=True):  # planes are G, B, R
                clip[channel, filled] = np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)[:, :width]
            filled += 1
            if filled == WINDOW:
                break
    return filled


def raw_pass(tasks, workers: int):
    def run() -> int:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return sum(1 for _ in pool.imap_unordered(_raw_decode, tasks))

    return run


def loader_pass(dataset: TransferDataset, workers: int):
    def run() -> int:
        clips = 0
        for batch in build_transfer_dataloader(dataset, workers=workers, training=False, batch_size=1):
            assert batch["video"].shape == (1, 3, WINDOW, 704, 1280) and not batch["skipped"]
            clips += 1
        return clips

    return run


def make_clips(root: Path, count: int) -> DatasetLayout:
    layout = DatasetLayout(root)
    for number in range(count):
        write_sample_clip(
            layout, f"clip{number}", moving_square_frames(FRAMES_PER_CLIP, SOURCE, seed=number), modalities=()
        )
    return layout


def measure(layout: DatasetLayout, control: str, workers: int, rounds: int) -> Result:
    registry = load_plugins().registries["control_modalities"]
    modality = None if control == "none" else registry.get(control)
    dataset = TransferDataset(layout.root, modality, num_frames=WINDOW, resolution="720")
    windows = [dataset.window(index) for index in range(len(dataset))]  # the frames the dataset will decode
    tasks = [(str(w.video_path), w.frame_start, w.target_size) for w in windows]
    loader, raw = loader_pass(dataset, workers), raw_pass(tasks, workers)
    loader(), raw()  # pilot: page cache, decoder start-up
    result = Result(workers, control)
    for _ in range(rounds):
        result.loader.append(timed(loader))
        result.raw.append(timed(raw))
    return result


def row(r: Result) -> dict[str, str]:
    ratios = r.ratios()
    loader_cpu = statistics.median(t.cpu / t.clips for t in r.loader)
    raw_cpu = statistics.median(t.cpu / t.clips for t in r.raw)
    median = statistics.median(ratios)
    meets = ("yes" if median >= 0.9 else "**no**") if r.control == "none" else "(control cost)"
    return {
        "control": r.control,
        "workers": str(r.workers),
        "loader clips/s": f"{statistics.median(t.clips / t.seconds for t in r.loader):.2f}",
        "raw clips/s": f"{statistics.median(t.clips / t.seconds for t in r.raw):.2f}",
        "loader/raw median [min, max]": f"{median:.2f} [{min(ratios):.2f}, {max(ratios):.2f}]",
        "CPU s/clip loader, raw": f"{loader_cpu:.2f}, {raw_cpu:.2f}",
        "clips per CPU s loader, raw": f"{1 / loader_cpu:.2f}, {1 / raw_cpu:.2f}",
        "other jobs (cores)": f"{r.other_cores():.2f}",
        ">= 0.90": meets,
    }


def table(rows: list[dict[str, str]]) -> list[str]:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r[h] for h in header) + " |" for r in rows]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", nargs="+", type=int, default=[1], help="worker counts N (default: 1)")
    parser.add_argument("--controls", nargs="+", default=["none", "edge"], help="none and/or modality names")
    parser.add_argument("--clips", type=int, default=3, help="720p clips per round (default: 3)")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (default: 3)")
    parser.add_argument("--record", type=Path, help="append the results as Markdown to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        layout = make_clips(Path(folder) / "ds", args.clips)
        results = [measure(layout, control, n, args.rounds) for n in args.workers for control in args.controls]
    rows = [row(r) for r in results]
    lines = table(rows)
    print("\n".join(lines))
    if args.record:
        command = "python " + " ".join(
            shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]
        )
        stamp = datetime.datetime.now().isoformat(timespec="minutes")
        header = [
            f"### {stamp}: {machine()}",
            "",
            f"`{command}`; torch {torch.__version__}, PyAV {av.__version__}, OpenCV {cv2.__version__}, "
            f"Python {platform.python_version()}; {args.clips} clips of {FRAMES_PER_CLIP} frames at 1280x720, "
            f"{WINDOW}-frame windows, {args.rounds} paired rounds. 1-min load average {load_before:.2f} at the start, "
            f"{os.getloadavg()[0]:.2f} at the end; {time.perf_counter() - started:.0f} s in all.",
            "",
        ]
        append_record(args.record, "\n".join([*header, *lines, "", ""]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
