"""Semantic dedup of synthetic embeddings: time and peak memory (``cosmos_embed.curation.dedup``).

    python benchmarks/curation_dedup.py [--rows 1000000] [--dim 256] [--record benchmarks/results/curation.md]

Clustered unit vectors with 5 % planted near-copies (noise 0.02); reports the k-means and the
in-cluster similarity times, the peak resident memory of the process (the embeddings alone are
rows x dim x 4 bytes) and how many planted copies eps 0.01 finds.
"""

from __future__ import annotations

import argparse
import datetime
import resource
import sys
import time

import numpy as np
from recording import append_record, machine


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--record")
    args = parser.parse_args()

    from cosmos_embed.curation import dedup

    rng = np.random.default_rng(0)
    copies = args.rows // 20
    distinct = args.rows - copies
    centres = rng.normal(size=(2000, args.dim)).astype(np.float32)
    base = centres[rng.integers(0, 2000, distinct)] + 0.6 * rng.normal(size=(distinct, args.dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    dups = base[:copies] + 0.02 * rng.normal(size=(copies, args.dim)).astype(np.float32) / np.sqrt(args.dim)
    x = np.concatenate([base, dups / np.linalg.norm(dups, axis=1, keepdims=True)])
    del base, dups
    ids = [f"c{i:07d}" for i in range(args.rows)]
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = dedup.similarities(x, ids, num_clusters=None, iterations=20, seed=0, keep="hard", progress=True)
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    removed = result.removed(0.01)
    found = int(removed[distinct:].sum() + removed[:copies].sum())
    false = int(removed[copies:distinct].sum())
    line = (
        f"| {datetime.date.today()} | {machine()} | {args.rows} x {args.dim} "
        f"| {int(result.cluster.max()) + 1} | {total:.1f} | {peak:.0f} (before: {baseline:.0f}) "
        f"| {found}/{copies} pairs, {false} distinct removed |"
    )
    text = "\n".join(
        [
            " ".join(sys.argv),
            "| date | machine | embeddings | clusters | dedup s | peak RSS MiB | eps 0.01 |",
            "|---|---|---|---|---|---|---|",
            line,
        ]
    )
    print(text)
    if args.record:
        append_record(args.record, "\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
