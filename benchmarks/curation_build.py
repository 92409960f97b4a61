"""Index build throughput, single process vs the Ray Data path, through the CLI (tiny model, CPU).

    python benchmarks/curation_build.py [--videos 96] [--record benchmarks/results/curation.md]

Generated 64x64 sample videos, the tiny preset with random weights; each engine builds a fresh index.
The Ray figure includes starting a local Ray (``ray.num_cpus``: every core) and its actors.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.resources
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from recording import append_record, machine


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=96)
    parser.add_argument("--record")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("LANCE_LOG", "error")

    import torch
    from cosmos_core.cli import main as cosmos_run
    from cosmos_core.config.loader import read_yaml, structure
    from cosmos_datasets.samples import generate_sample_dataset
    from cosmos_embed.config import ExperimentConfig
    from cosmos_embed.model.embed1 import CosmosEmbed1
    from cosmos_embed.model.loading import export_state_dict
    from safetensors.torch import save_file

    root = Path(tempfile.mkdtemp(prefix="curation_build_"))
    generate_sample_dataset(root / "data", num_videos=args.videos)
    spec = importlib.resources.files("cosmos_embed") / "specs" / "index_tiny.yaml"
    config = structure(ExperimentConfig, read_yaml(Path(str(spec))), "index_tiny")
    torch.manual_seed(0)
    save_file(
        {k: v.contiguous() for k, v in export_state_dict(CosmosEmbed1(config.model.network)).items()},
        str(root / "tiny.safetensors"),
    )
    rows = []
    for engine in ("local", "ray"):
        start = time.perf_counter()
        code = cosmos_run(
            [
                "cosmos-embed1",
                "index",
                "-e",
                "index_tiny",
                f"results_dir={root / engine}",
                f"inference.checkpoint={root / 'tiny.safetensors'}",
                f"index.uri={root / engine / 'clips'}",
                f"index.engine={engine}",
                f"dataset.inference_dataset.metadata={root / 'data' / 'metadata.json'}",
                f"dataset.inference_dataset.data_root={root / 'data'}",
            ]
        )
        seconds = time.perf_counter() - start
        summary = json.loads((root / engine / "index" / "index_summary.json").read_text())
        assert code == 0 and summary["embedded"] == args.videos, summary
        rows.append(
            f"| {datetime.date.today()} | {machine()} | {engine} "
            f"| {args.videos} | {seconds:.1f} | {args.videos / seconds:.1f} |"
        )
    text = "\n".join(
        [
            " ".join(sys.argv),
            "| date | machine | engine | clips | wall s (whole command) | clips/s |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(text)
    if args.record:
        append_record(args.record, "\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
