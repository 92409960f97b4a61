"""Encoding a dataset's clips for evaluate, inference and ``validation_eval``, on one or several ranks.

The corpus is cut into the batches a single process would load (``batch_size``, in dataset order,
``drop_last`` as configured), and batch ``k`` goes to data-parallel rank ``k % world``. Every batch thus
holds the same clips as in a single-process run, so the embeddings are the same numbers, and after
gathering, sorting by batch puts them back in corpus order: the result does not depend on the number
of ranks. Ranks advance in windows of one batch each and stop together once the clips encoded so far
(counted in corpus order) reach the cap; with ``lockstep`` (FSDP, whose forwards are collective) a
rank without a batch in the last window runs one dummy clip so that its peers do not wait forever.

Decoding overlaps the model twice over: the DataLoader's workers decode ``prefetch_factor`` batches
each ahead (a bounded queue, pinned on CUDA), and on CUDA each batch's forward is only launched
(:meth:`Encoder.videos_async`, a non-blocking copy from pinned memory) and read back after the next
batch has been fetched, so the main process never waits on the device while the loader has a batch.
The window's clip count is summed across ranks on the host (:func:`cosmos_core.distributed.host_sum`,
gloo beside NCCL), so counting never waits for the forward in flight.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import torch
from cosmos_core.distributed import DistInfo, gather_objects, host_sum
from cosmos_core.errors import UserInputError
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.skips import SkipLog

logger = logging.getLogger("cosmos.embed")

LOG_EVERY = 10
"""Windows between two progress lines in the log (the progress bar updates continuously)."""


class NothingToEmbedError(UserInputError, RuntimeError):
    """Every clip of a dataset failed to decode (the message carries the skip report)."""


class VideoEncoder(Protocol):
    def videos(self, videos: torch.Tensor) -> torch.Tensor: ...


def corpus_batches(size: int, batch_size: int, drop_last: bool, max_batches: int | None) -> list[range]:
    """The dataset indices of each batch a single process would load, in order."""
    batches = [range(start, min(start + batch_size, size)) for start in range(0, size, batch_size)]
    if drop_last:
        batches = [batch for batch in batches if len(batch) == batch_size]
    if max_batches is not None and max_batches >= 0:
        batches = batches[:max_batches]
    return batches


def encode_dataset(
    encoder: VideoEncoder,
    dataset: Any,
    cfg: SingleDatasetConfig,
    skips: SkipLog,
    max_samples: int | None = None,
    max_batches: int | None = None,
    dist: DistInfo | None = None,
    lockstep: bool = False,
) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """Video embeddings of (up to ``max_samples`` clips of) a dataset plus one record (path, caption,
    label) per embedded clip, in dataset order, on every rank; skipped clips are counted in ``skips``."""
    rank, world = (dist.dp_rank, dist.dp_size) if dist is not None and dist.is_distributed else (0, 1)
    batches = corpus_batches(len(dataset), cfg.batch_size, cfg.drop_last, max_batches)
    total = len(dataset) if max_samples is None else min(len(dataset), max_samples)
    mine = list(range(rank, len(batches), world))
    indices = [index for k in mine for index in batches[k]]
    loaded = iter(build_dataloader(dataset, cfg, sampler=indices)) if indices else iter(())
    parts: list[tuple[int, torch.Tensor, list[dict[str, Any]]]] = []
    batch_skips: list[tuple[int, list[dict[str, str]]]] = []
    launch = getattr(encoder, "videos_async", encoder.videos)
    pending: tuple[int, torch.Tensor, list[dict[str, Any]]] | None = None  # the forward in flight
    done = 0
    bar = _progress_bar(total, rank == 0)
    try:
        for window in range(-(-len(batches) // world)):
            k = window * world + rank
            batch = next(loaded) if k < len(batches) else None  # decoded by workers while the device computes
            rows = 0 if batch is None else int(batch["video"].shape[0])
            if batch is not None:
                batch_skips.append((k, list(batch["skipped"])))
            encoded = host_sum(rows, dist.dp_group) if world > 1 else rows
            if pending is not None:
                parts.append(_finished(pending))
                pending = None
            if rows:
                records = [
                    {"path": p, "caption": c, "label": int(lbl)}
                    for p, c, lbl in zip(batch["path"], batch["caption"], batch["label"], strict=True)
                ]
                pending = (k, launch(batch["video"]), records)
            elif batch is None and lockstep:
                encoder.videos(_dummy_clip(cfg))
            bar.update(min(encoded, total - done))
            done += encoded
            if rank == 0 and (window + 1) % LOG_EVERY == 0:
                logger.info("embedded %d/%d clips", min(done, total), total)
            if done >= total:
                break
        if pending is not None:
            parts.append(_finished(pending))
    finally:
        bar.close()
    gathered = gather_objects((parts, batch_skips)) if world > 1 else [(parts, batch_skips)]
    for _, skipped in sorted((entry for _, rank_skips in gathered for entry in rank_skips), key=lambda e: e[0]):
        skips.add(skipped)
    ordered = sorted((part for rank_parts, _ in gathered for part in rank_parts), key=lambda part: part[0])
    if not ordered:
        raise NothingToEmbedError(
            f"no clip of the {cfg.dataset_type} dataset ({cfg.metadata}) could be embedded; {skips.summary()}"
        )
    embeddings = torch.cat([part[1] for part in ordered])[:total]
    records = [record for part in ordered for record in part[2]][:total]
    if world > 1 and rank == 0:
        shares = " + ".join(str(len(rank_parts)) for rank_parts, _ in gathered)
        logger.info("encoded %d clips on %d ranks (%s batches)", len(records), world, shares)
    return embeddings, records


def _finished(pending: tuple[int, torch.Tensor, list[dict[str, Any]]]) -> tuple[int, torch.Tensor, list]:
    """A launched batch with its embeddings on the CPU (waits for its forward)."""
    k, embeddings, records = pending
    return k, embeddings.cpu(), records


def _dummy_clip(cfg: SingleDatasetConfig) -> torch.Tensor:
    return torch.zeros((1, cfg.num_video_frames, 3, *cfg.resolution), dtype=torch.uint8)


def _progress_bar(total: int, show: bool) -> Any:
    """Clips encoded, clips/s and ETA on rank 0's stderr (tqdm)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="clip", desc="encoding", disable=not show, dynamic_ncols=True, mininterval=1.0)
