"""``cosmos-run cosmos-embed1 evaluate``: top-K hit rates of a checkpoint on the test dataset.

With ``evaluate.num_gpus`` > 1 (or under torchrun) every rank encodes its share of the clips
(:mod:`cosmos_embed.corpus`); rank 0 computes the metrics and writes the outputs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from cosmos_core.io import write_json_atomically
from cosmos_core.lifecycle import Run
from cosmos_core.run import RunContext
from cosmos_datasets.skips import SkipLog
from cosmos_embed import embedding_cache
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.retrieval import hit_rates
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

UMAP_FILE = "umap.png"


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    with ctx.open_run(config) as run:
        _evaluate(config, ctx, run)
    return 0


def _evaluate(config: ExperimentConfig, ctx: RunContext, run: Run) -> dict | None:
    settings = config.evaluate
    test_cfg = config.dataset.test_dataset
    out = run.folder
    skips = SkipLog()
    # The dataset part is the config as written; without a checkpoint (the cache-only run) only it
    # can be compared.
    encoder = _encoder(config, run.dist.device) if settings.checkpoint else None
    fingerprint = cache_fingerprint(test_cfg, encoder)
    load_path = Path(settings.load_dataset_pkl) if settings.load_dataset_pkl else None
    if load_path is not None and load_path.is_file():
        if not run.is_main:
            return None
        cache = embedding_cache.load(load_path, fingerprint)
        logger.info("loaded %d cached embeddings from %s (model inference skipped)", len(cache.records), load_path)
    else:
        data_cfg = frames_for(test_cfg, encoder.network, "dataset.test_dataset")
        dataset = build_dataset(ctx, data_cfg, False, skips, "dataset.test_dataset")
        videos, records = encode_dataset(
            encoder,
            dataset,
            data_cfg,
            skips,
            max_samples=settings.callbacks.max_eval_samples,
            max_batches=settings.max_batches,
            dist=run.dist,
        )
        if not run.is_main:
            return None
        class_names = dataset.label_names()
        cache = embedding_cache.EmbeddingCache(
            tensors={"videos": videos, "class_texts": encoder.texts(class_names)},
            records=records,
            fingerprint=fingerprint,
            extra={"class_names": class_names},
        )
        if settings.save_dataset_pkl:
            embedding_cache.save(cache, Path(settings.save_dataset_pkl))
            logger.info("saved embeddings to %s", settings.save_dataset_pkl)

    labels = torch.tensor([r["label"] for r in cache.records])
    metrics: dict = {"num_samples": len(cache.records), "num_classes": len(cache.extra["class_names"])}
    if settings.callbacks.topk_classification:
        metrics |= hit_rates(
            cache.tensors["videos"], cache.tensors["class_texts"], labels, settings.callbacks.top_k_values
        )
    if settings.callbacks.embedding_visualization:
        from cosmos_embed.umap_plot import write_umap_png

        cap = settings.callbacks.max_eval_samples
        path = write_umap_png(
            out / UMAP_FILE,
            cache.tensors["videos"][:cap],
            labels[:cap],
            cache.tensors["class_texts"],
            cache.extra["class_names"],
            seed=config.train.seed,
        )
        logger.info("UMAP of %d video embeddings written to %s", min(cap, len(labels)), path)
    path = write_json_atomically(out / "metrics.json", metrics)
    report_skips(skips, out)
    summary = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
    logger.info("evaluated %d clips over %d classes: %s", metrics["num_samples"], metrics["num_classes"], summary)
    logger.info("metrics written to %s", path)
    return metrics


def _encoder(config: ExperimentConfig, device: torch.device) -> Encoder:
    network, _ = network_from_checkpoint(config.evaluate.checkpoint, config.model, "evaluate.checkpoint")
    return Encoder.create(network, config.model.precision, device, compile=config.model.compile)
