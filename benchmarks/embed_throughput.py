"""Cosmos-Embed1 video-embedding throughput (clips/s) of a preset: the model forward only.

    python benchmarks/embed_throughput.py                       # tiny preset, fp32 and bf16
    python benchmarks/embed_throughput.py --preset 224p --batch-size 1 --iterations 1 --warmup 1
    python benchmarks/embed_throughput.py --precision bf16 --record benchmarks/results/embed_throughput.md

Clips are random uint8 videos of the preset's frames and resolution, so decoding is not measured
(benchmarks/loader_throughput.py measures the loader). Weights are random: throughput does not
depend on their values. bf16 runs under autocast, on the CPU too, as evaluate and inference do with
``model.precision: bf16``. Prints one line per precision with the machine and settings, and appends
them to --record.
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

import torch
from cosmos_core.training.precision import resolve_precision
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.presets import PRESETS, preset
from recording import append_record, machine


def measure(name: str, batch_size: int, precision: str, iterations: int, warmup: int, device: torch.device) -> dict:
    cfg = preset(name)
    with torch.device("meta"):
        model = CosmosEmbed1(cfg)
    model = model.to_empty(device=device)
    model.init_weights()
    model.eval()
    plan = resolve_precision(precision, device)  # the name it reports is what really ran (fp32 on fallback)
    height, width = cfg.spatial_resolution
    videos = torch.randint(
        0, 256, (batch_size, cfg.num_video_frames, 3, height, width), dtype=torch.uint8, device=device
    )
    with torch.no_grad():
        for step in range(warmup + iterations):
            if step == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            with plan.autocast():
                model.get_video_embeddings(videos)
        if device.type == "cuda":
            torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "preset": name,
        "batch_size": batch_size,
        "precision": plan.name,
        "clips_per_s": batch_size * iterations / seconds,
        "ms_per_batch": 1000 * seconds / iterations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 16 (tiny), 8 (full)")
    parser.add_argument(
        "--precision", choices=["fp32", "bf16", "fp16"], nargs="+", default=["fp32", "bf16"], help="one or more"
    )
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--record", type=Path, help="append the result line to this markdown file")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batch = args.batch_size or (16 if args.preset == "tiny" else 8)
    for precision in args.precision:
        result = measure(args.preset, batch, precision, args.iterations, args.warmup, device)
        print(
            f"{result['preset']}: {result['clips_per_s']:.3g} clips/s ({result['ms_per_batch']:.1f} ms per batch of "
            f"{batch}, {result['precision']}) on {machine()}"
        )
        if args.record:
            record(args.record, result, batch)


def record(path: Path, result: dict, batch: int) -> None:
    """Append the result as a row of the markdown table in ``path`` (created with its header)."""
    header = (
        "# Cosmos-Embed1 embedding throughput\n\nCommand: `python benchmarks/embed_throughput.py "
        "[--preset P] --record benchmarks/results/embed_throughput.md`\n\n"
        "| date | machine | preset | batch | precision | clips/s | ms/batch |\n|---|---|---|---|---|---|---|\n"
    )
    line = (
        f"| {datetime.date.today()} | {machine()} | {result['preset']} | {batch} | {result['precision']} | "
        f"{result['clips_per_s']:.3g} | {result['ms_per_batch']:.1f} |"
    )
    append_record(path, line + "\n", header)


if __name__ == "__main__":
    main()
