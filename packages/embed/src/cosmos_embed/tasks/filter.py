"""``cosmos-run cosmos-embed1 filter``: keep the clips of an index that match texts.

A clip is kept when its similarity to at least one of ``filter.positive_texts`` is at least
``filter.threshold`` and its similarity to each of ``filter.negative_texts`` is below it. Writes
``<results_dir>/filter/kept.jsonl``, VAD-R1 metadata that ``train`` reads as it is (one entry per
video), and ``filter_summary.json``.
"""

from __future__ import annotations

import logging

import numpy as np
from cosmos_core.io import write_json_atomically
from cosmos_core.run import RunContext
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.curation.filter import keep_mask, merge_by_video, vad_r1_entry
from cosmos_embed.curation.fingerprint import model_digest
from cosmos_embed.curation.index_table import ClipIndex, check_fingerprint
from cosmos_embed.curation.jsonl import write_jsonl
from cosmos_embed.tasks.common import Encoder, network_from_checkpoint

logger = logging.getLogger("cosmos.embed")

COLUMNS = ("path", "start_sec", "end_sec", "caption", "metadata", "embedding")


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    with ctx.open_run(config) as run:
        if run.is_main:
            _filter(config, run)
    return 0


def _filter(config: ExperimentConfig, run) -> None:
    from tqdm.auto import tqdm

    settings = config.filter
    index = ClipIndex.open(config.index.uri, "index.uri")
    network, _ = network_from_checkpoint(config.inference.checkpoint, config.model, "inference.checkpoint")
    wanted = {
        "model": model_digest(network),
        "preprocessing": index.state.fingerprint.get("preprocessing"),
    }
    check_fingerprint(index.state.fingerprint, wanted, f"index.uri={config.index.uri}")
    encoder = Encoder.create(network, config.model.precision, run.dist.device, compile=config.model.compile)
    positives = encoder.texts(list(settings.positive_texts)).numpy()
    negatives = encoder.texts(list(settings.negative_texts)).numpy()
    total = index.count(settings.where)
    kept: list[tuple[dict, dict]] = []
    with tqdm(total=total, unit="clip", desc="filter", dynamic_ncols=True) as bar:
        for batch in index.scan(COLUMNS, settings.where, "filter.where"):
            flat = batch.column("embedding").values.to_numpy(zero_copy_only=False)
            embeddings = flat.reshape(batch.num_rows, index.state.dim)
            keep, best = keep_mask(embeddings, positives, negatives, settings.threshold)
            rows = batch.drop_columns(["embedding"]).to_pylist()
            kept += [(rows[r], vad_r1_entry(rows[r], best[r])) for r in np.flatnonzero(keep)]
            bar.update(batch.num_rows)
    entries = merge_by_video(kept)
    path = write_jsonl(run.folder / "kept.jsonl", entries)
    summary = {
        "index": config.index.uri,
        "clips": total,
        "kept_clips": len(kept),
        "kept_videos": len(entries),
        "threshold": settings.threshold,
        "positive_texts": list(settings.positive_texts),
        "negative_texts": list(settings.negative_texts),
        "where": settings.where,
    }
    write_json_atomically(run.folder / "filter_summary.json", summary)
    logger.info("filter kept %d of %d clips (%d videos): %s", len(kept), total, len(entries), path)
