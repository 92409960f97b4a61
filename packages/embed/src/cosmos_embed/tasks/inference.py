"""``cosmos-run cosmos-embed1 inference``: text-to-video and video-to-video top-K search.

With ``inference.index`` the search runs over a clip index instead (:mod:`cosmos_embed.curation.search`).
With ``inference.num_gpus`` > 1 (or under torchrun) every rank encodes its share of the search
database (:mod:`cosmos_embed.corpus`); rank 0 encodes the queries, searches and writes the outputs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from cosmos_core.io import write_json_atomically
from cosmos_core.lifecycle import Run
from cosmos_core.run import RunContext
from cosmos_datasets.skips import SkipLog
from cosmos_datasets.video import read_clip
from cosmos_embed import embedding_cache
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.retrieval import top_k
from cosmos_embed.tasks.common import (
    Encoder,
    build_dataset,
    cache_fingerprint,
    encode_dataset,
    frames_for,
    network_from_checkpoint,
    report_skips,
)

logger = logging.getLogger("cosmos.embed")


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    with ctx.open_run(config) as run:
        _search(config, ctx, run)
    return 0


def _search(config: ExperimentConfig, ctx: RunContext, run: Run) -> None:
    settings = config.inference
    db_cfg = config.dataset.inference_dataset
    out = run.folder
    network, _ = network_from_checkpoint(settings.checkpoint, config.model, "inference.checkpoint")
    encoder = Encoder.create(network, config.model.precision, run.dist.device, compile=config.model.compile)
    if settings.index:
        if run.is_main:
            from cosmos_embed.curation.search import search_index

            search_index(config, encoder, out)
        return
    fingerprint = cache_fingerprint(db_cfg, encoder)
    data_cfg = frames_for(db_cfg, encoder.network, "dataset.inference_dataset")
    skips = SkipLog()
    load_path = Path(settings.load_dataset_pkl) if settings.load_dataset_pkl else None
    if load_path is not None and load_path.is_file():
        if not run.is_main:
            return
        cache = embedding_cache.load(load_path, fingerprint)
        logger.info("loaded the search database (%d clips) from %s", len(cache.records), load_path)
    else:
        dataset = build_dataset(ctx, data_cfg, False, skips, "dataset.inference_dataset")
        videos, records = encode_dataset(encoder, dataset, data_cfg, skips, dist=run.dist)
        if not run.is_main:
            return
        cache = embedding_cache.EmbeddingCache({"videos": videos}, records, fingerprint)
        if settings.save_dataset_pkl:
            embedding_cache.save(cache, Path(settings.save_dataset_pkl))
            logger.info("saved the search database to %s", settings.save_dataset_pkl)
    database = cache.tensors["videos"]

    results: dict[str, Any] = {"k": settings.k, "database_size": len(cache.records)}
    if settings.query.input_texts:
        queries = encoder.texts(settings.query.input_texts)
        results["text_to_video"] = _ranked(settings.query.input_texts, queries, database, cache.records, settings.k)
    if settings.query.input_videos:
        queries = torch.cat([encoder.videos(_read_query(path, data_cfg)) for path in settings.query.input_videos])
        results["video_to_video"] = _ranked(settings.query.input_videos, queries, database, cache.records, settings.k)
    path = write_json_atomically(out / "results.json", results)
    report_skips(skips, out)
    for kind in ("text_to_video", "video_to_video"):
        for hit in results.get(kind, []):
            best = hit["results"][0]
            logger.info("%r -> %s (score %.3f)", hit["query"], best["path"], best["score"])
    logger.info("search results for %d queries written to %s", _count(results), path)


def _read_query(path: str, db_cfg) -> torch.Tensor:
    frames = read_clip(path, db_cfg.num_video_frames, tuple(db_cfg.resolution), db_cfg.decode_backend)
    return frames.unsqueeze(0)


def _ranked(queries: list[str], embeddings: torch.Tensor, database: torch.Tensor, records, k: int) -> list:
    scores, indices = top_k(embeddings, database, k)
    return [
        {
            "query": query,
            "results": [
                {"rank": rank + 1, "score": round(float(score), 6), **records[int(index)]}
                for rank, (score, index) in enumerate(zip(row_scores, row_indices, strict=True))
            ],
        }
        for query, row_scores, row_indices in zip(queries, scores, indices, strict=True)
    ]


def _count(results: dict[str, Any]) -> int:
    return len(results.get("text_to_video", [])) + len(results.get("video_to_video", []))
