"""``index.engine: ray``: the index build as a Ray Data pipeline.

metadata rows (dataset positions) -> decode in CPU tasks (the dataset's own ``__getitem__``) ->
embed in an actor pool (one model per actor; ``ray.gpus_per_actor`` GPUs each when the cluster has
GPUs) -> back to the driver, which writes through the same :class:`IndexWriter` as the single-process
path. The table is written with ``iter_batches`` + ``table.add`` rather than ``Dataset.write_lance``
(broken with pylance 14, Ray issue #65129), which also keeps the skip bookkeeping and the write
batching identical to the local path.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from cosmos_embed.config import ModelConfig, RayConfig
from cosmos_embed.curation.build import IndexWriter
from cosmos_embed.curation.deps import require

logger = logging.getLogger("cosmos.embed")


def _decode(batch: dict[str, np.ndarray], dataset: Any, frames: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Decode one batch of dataset positions; a skipped item keeps a zero clip and its reason."""
    from cosmos_datasets.skips import SkippedSample

    indices = [int(i) for i in batch["index"]]
    videos = np.zeros((len(indices), *frames), dtype=np.uint8)
    ok, captions, labels, paths, reasons = [], [], [], [], []
    for row, index in enumerate(indices):
        item = dataset[index]
        if isinstance(item, SkippedSample):
            ok.append(False)
            captions.append("")
            labels.append(-1)
            paths.append(item.path)
            reasons.append(item.reason)
            continue
        videos[row] = item["video"].numpy()
        ok.append(True)
        captions.append(item["caption"])
        labels.append(int(item["label"]))
        paths.append(item["path"])
        reasons.append("")
    return {
        "index": np.asarray(indices, dtype=np.int64),
        "video": videos,
        "ok": np.asarray(ok, dtype=bool),
        "caption": np.asarray(captions, dtype=object),
        "label": np.asarray(labels, dtype=np.int64),
        "path": np.asarray(paths, dtype=object),
        "reason": np.asarray(reasons, dtype=object),
    }


class EmbedActor:
    """One model per actor: the network of the checkpoint, on the actor's GPU when it has one."""

    def __init__(self, model: ModelConfig, state: dict, use_gpu: bool) -> None:
        import torch

        from cosmos_embed.model.embed1 import CosmosEmbed1
        from cosmos_embed.model.loading import load_state_dict_into
        from cosmos_embed.tasks.common import Encoder

        network = CosmosEmbed1(model.network)
        load_state_dict_into(network, state, strict=True, source="the driver's network")
        device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
        self.encoder = Encoder.create(network, model.precision, device, compile=model.compile)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        ok = batch["ok"]
        dim = self.encoder.network.config.embed_dim
        embeddings = np.zeros((len(ok), dim), dtype=np.float32)
        if ok.any():
            embeddings[ok] = self.encoder.videos(torch.from_numpy(batch["video"][ok])).numpy()
        out = {key: value for key, value in batch.items() if key != "video"}
        out["embedding"] = embeddings
        return out


def encode_ray(
    settings: RayConfig,
    network: Any,
    model: ModelConfig,
    dataset: Any,
    batch_size: int,
    writer: IndexWriter,
    order: list[int],
) -> None:
    """Embed the dataset items ``order`` on Ray and hand every batch to ``writer``."""
    ray = require("ray", "index.engine=ray")
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=settings.address,
            num_cpus=None if settings.address else settings.num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="WARNING",
        )
    try:
        _run_pipeline(settings, network, model, dataset, batch_size, writer, order)
    finally:
        if started:
            ray.shutdown()


def _run_pipeline(
    settings: RayConfig,
    network: Any,
    model: ModelConfig,
    dataset: Any,
    batch_size: int,
    writer: IndexWriter,
    order: list[int],
) -> None:
    import ray
    import ray.data

    from cosmos_embed.model.loading import export_state_dict

    net = network.config
    frames = (net.num_video_frames, 3, *net.spatial_resolution)
    use_gpu = ray.cluster_resources().get("GPU", 0) > 0
    state = {k: v.detach().cpu() for k, v in export_state_dict(network).items()}
    logger.info(
        "Ray: %d clips, %d embedding actor(s)%s, cluster %s",
        len(order),
        settings.num_actors,
        f" with {settings.gpus_per_actor} GPU each" if use_gpu else " on CPU",
        settings.address or "local",
    )
    pipeline = (
        ray.data.from_items([{"index": i} for i in order], override_num_blocks=max(1, -(-len(order) // batch_size)))
        .map_batches(
            _decode,
            batch_size=batch_size,
            fn_args=(dataset, frames),
            num_cpus=settings.cpus_per_decode_task,
        )
        .map_batches(
            EmbedActor,
            batch_size=batch_size,
            fn_constructor_args=(model, state, use_gpu),
            concurrency=settings.num_actors,
            num_cpus=settings.cpus_per_actor,
            num_gpus=settings.gpus_per_actor if use_gpu else 0,
            max_restarts=0,  # Ray Data restarts a crashed actor forever by default
        )
    )
    for batch in pipeline.iter_batches(batch_size=batch_size, batch_format="numpy"):
        ok = batch["ok"]
        embedded = {
            int(i): (str(c), int(lbl), str(p))
            for i, c, lbl, p, good in zip(
                batch["index"], batch["caption"], batch["label"], batch["path"], ok, strict=True
            )
            if good
        }
        reasons = {str(p): str(r) for p, r, good in zip(batch["path"], batch["reason"], ok, strict=True) if not good}
        writer.put([int(i) for i in batch["index"]], embedded, batch["embedding"][ok], reasons)
