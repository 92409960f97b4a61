"""``cosmos-run cosmos-embed1 index``: embed ``dataset.inference_dataset`` into a LanceDB clip index.

Reruns embed only new and changed clips (path, size, mtime), remove vanished ones with
``index.prune``, and complete a build that was killed. ``index.engine: ray`` embeds on Ray Data.
"""

from __future__ import annotations

import logging

import torch
from cosmos_core.family import DeviceRequest
from cosmos_core.io import write_json_atomically
from cosmos_core.lifecycle import Run
from cosmos_core.run import RunContext
from cosmos_datasets.skips import SkipLog
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.curation.build import IndexWriter, build_skips, encode_local, plan_build
from cosmos_embed.curation.catalogue import catalogue
from cosmos_embed.curation.fingerprint import index_fingerprint
from cosmos_embed.curation.index_table import ClipIndex, IndexState, check_not_run_folder, metadata_columns
from cosmos_embed.tasks.common import Encoder, build_dataset, frames_for, network_from_checkpoint

logger = logging.getLogger("cosmos.embed")


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    devices = DeviceRequest(1 if torch.cuda.is_available() else 0, setting="index")
    check_not_run_folder(config.index.uri, ctx.runtime.run_dir(config, ctx.action), "index.uri")
    with ctx.open_run(config, devices=devices) as run:
        if run.is_main:
            _build(config, ctx, run)
    return 0


def _build(config: ExperimentConfig, ctx: RunContext, run: Run) -> None:
    settings = config.index
    network, model_cfg = network_from_checkpoint(config.inference.checkpoint, config.model, "inference.checkpoint")
    data_cfg = frames_for(config.dataset.inference_dataset, network, "dataset.inference_dataset")
    dataset = build_dataset(ctx, data_cfg, False, SkipLog(), "dataset.inference_dataset")
    entries = catalogue(dataset, data_cfg)
    wanted = IndexState(
        dim=network.config.embed_dim,
        fingerprint=index_fingerprint(network, data_cfg),
        columns=metadata_columns(entry.metadata for entry in entries),
        table=settings.table,
    )
    index, interrupted = ClipIndex.for_build(settings.uri, "index.uri", wanted)
    if interrupted:
        logger.warning("%s: the last build did not finish; completing it", settings.uri)
    plan = plan_build(entries, index.signatures())
    index.delete_ids(plan.changed)
    removed = index.delete_ids(plan.vanished) if settings.prune else 0
    dropped = inner_skips(dataset)
    index.record_skips(build_skips(dropped))
    logger.info(
        "%s: %d clips in the dataset, %d to embed (%d changed), %d unchanged, %d vanished%s",
        settings.uri,
        len(entries),
        len(plan.todo),
        len(plan.changed),
        plan.unchanged,
        len(plan.vanished),
        " (removed)" if settings.prune else " (kept; index.prune=true removes them)",
    )
    writer = IndexWriter(index, plan.todo, settings.write_every, show=True)
    order = [entry.index for entry in plan.todo]
    try:
        if order and settings.engine == "ray":
            from cosmos_embed.curation.ray_build import encode_ray

            encode_ray(config.ray, network, model_cfg, dataset, data_cfg.batch_size, writer, order)
        elif order:
            encoder = Encoder.create(network, config.model.precision, run.dist.device, compile=config.model.compile)
            encode_local(encoder, dataset, data_cfg, writer, order)
    finally:
        writer.close()
    index.compact(cleanup=interrupted)
    ann = index.refresh_ann(settings)
    index.mark_complete()
    skipped = index.skips()
    summary = {
        "uri": settings.uri,
        "table": settings.table,
        "engine": settings.engine,
        "rows": index.count(),
        "embedded": writer.written,
        "changed": len(plan.changed),
        "unchanged": plan.unchanged,
        "vanished": len(plan.vanished),
        "removed": removed,
        "skipped": len(skipped),
        "ann_index": ann,
        "completed_interrupted_build": interrupted,
    }
    path = write_json_atomically(run.folder / "index_summary.json", summary)
    if skipped:
        logger.warning("%d clips could not be embedded; listed in the index's skip table and %s", len(skipped), path)
        write_json_atomically(run.folder / "skipped_samples.json", {"total": len(skipped), "files": skipped})
    logger.info(
        "index %s: %d rows (%d embedded now), ANN: %s; summary in %s",
        settings.uri,
        summary["rows"],
        writer.written,
        summary["ann_index"],
        path,
    )


def inner_skips(dataset) -> list[dict[str, str]]:
    inner = getattr(dataset, "dataset", dataset)
    return list(inner.skipped_at_build()) if hasattr(inner, "skipped_at_build") else []
