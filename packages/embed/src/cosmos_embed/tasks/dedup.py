"""``cosmos-run cosmos-embed1 dedup``: semantic deduplication of an index (see :mod:`cosmos_embed.curation.dedup`).

Writes under ``<results_dir>/dedup/``: ``groups.jsonl`` (one line per group of duplicates: the kept
clip and the removed ones with their similarity to the clip they duplicate), ``keep.jsonl`` and
``remove.jsonl`` (one clip per line), ``thresholds.json`` (clips removed at each ``dedup.eps_table``
value) and ``dedup_summary.json``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
from cosmos_core.io import write_json_atomically
from cosmos_core.run import RunContext
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.curation.dedup import similarities, threshold_table
from cosmos_embed.curation.index_table import ClipIndex
from cosmos_embed.curation.jsonl import write_jsonl

logger = logging.getLogger("cosmos.embed")

COLUMNS = ("id", "path", "start_sec", "end_sec", "caption")


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    with ctx.open_run(config) as run:
        if run.is_main:
            _dedup(config, run.folder)
    return 0


def _dedup(config: ExperimentConfig, out: Path) -> None:
    settings = config.dedup
    index = ClipIndex.open(config.index.uri, "index.uri")
    data = index.read([*COLUMNS, "embedding"], settings.where, "dedup.where")
    ids = data["id"]
    logger.info("deduplicating %d clips of %s", len(ids), config.index.uri)
    if not ids:
        logger.warning("no clips to deduplicate (dedup.where=%r)", settings.where)
    result = similarities(
        data["embedding"],
        ids,
        num_clusters=settings.num_clusters,
        iterations=settings.kmeans_iterations,
        seed=settings.seed,
        keep=settings.keep,
        progress=True,
    )
    removed = result.removed(settings.eps)
    root = result.representative(settings.eps)
    clip = [{name: data[name][row] for name in COLUMNS} for row in range(len(ids))]
    members: dict[int, list[int]] = defaultdict(list)
    for row in np.flatnonzero(removed):
        members[int(root[row])].append(int(row))
    groups = [
        {
            "keep": clip[kept],
            "remove": [
                {
                    **clip[r],
                    "duplicate_of": ids[int(result.best_match[r])],
                    "similarity": round(float(result.best_similarity[r]), 6),
                }
                for r in rows
            ],
        }
        for kept, rows in sorted(members.items())
    ]
    write_jsonl(out / "groups.jsonl", groups)
    write_jsonl(out / "keep.jsonl", [clip[r] for r in np.flatnonzero(~removed)])
    write_jsonl(out / "remove.jsonl", [{**clip[r], "keep": ids[int(root[r])]} for r in np.flatnonzero(removed)])
    table = threshold_table(result, [*settings.eps_table, settings.eps])
    write_json_atomically(out / "thresholds.json", table)
    for row in table:
        logger.info(
            "eps %-6g removes %7d of %d clips (%.1f%%)",
            row["eps"],
            row["removed"],
            len(ids),
            100 * row["removed_fraction"],
        )
    summary = {
        "index": config.index.uri,
        "clips": len(ids),
        "eps": settings.eps,
        "keep": settings.keep,
        "clusters": int(result.cluster.max()) + 1 if len(ids) else 0,
        "groups": len(groups),
        "removed": int(removed.sum()),
        "kept": int((~removed).sum()),
    }
    write_json_atomically(out / "dedup_summary.json", summary)
    logger.info(
        "dedup at eps %g: %d duplicate groups, %d of %d clips removed; lists in %s",
        settings.eps,
        len(groups),
        summary["removed"],
        len(ids),
        out,
    )
