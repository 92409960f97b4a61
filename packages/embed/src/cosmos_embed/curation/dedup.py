"""Semantic deduplication as SemDeDup (Abbas et al., 2023) and NeMo Curator do it.

1. k-means (faiss, spherical) over the L2-normalised embeddings;
2. within each cluster, rank the clips by which one to keep (``hard``: farthest from the centroid
   first, SemDeDup's and NeMo Curator's default; ``easy``: closest first; ``first``: smallest id);
3. for each clip, the largest cosine similarity to any clip ranked before it in its cluster. A clip
   whose largest similarity exceeds ``1 - eps`` is a duplicate and removed; the first-ranked clip of
   every group of duplicates is its kept representative.

Similarities are computed cluster by cluster in column blocks of at most :data:`BLOCK_ELEMENTS`
scores, so memory stays bounded by the block, never by N x N (or by the largest cluster squared).
Since step 3 does not depend on ``eps``, one pass gives the removal count of every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from cosmos_embed.curation.deps import require

BLOCK_ELEMENTS = 1 << 24
"""Most similarity scores held at once (64 MiB of float32)."""

Keep = Literal["hard", "easy", "first"]


@attrs.frozen
class Similarities:
    """Per clip: its cluster, the best earlier-ranked match in that cluster and the match's similarity."""

    cluster: np.ndarray
    best_match: np.ndarray
    """Row index of the most similar earlier-ranked clip of the same cluster; -1 for a cluster's first."""
    best_similarity: np.ndarray
    """Its cosine similarity; -inf for a cluster's first clip."""

    def removed(self, eps: float) -> np.ndarray:
        """Boolean mask of the clips that ``eps`` removes."""
        return self.best_similarity > 1.0 - eps

    def representative(self, eps: float) -> np.ndarray:
        """For each clip, the kept clip of its duplicate group (itself when it is kept)."""
        removed = self.removed(eps)
        root = np.where(removed, self.best_match, np.arange(len(removed)))
        # Follow the chains of matches (each step points to an earlier-ranked clip, so this ends).
        while True:
            nxt = root[root]
            if np.array_equal(nxt, root):
                return root
            root = nxt


def kmeans(embeddings: np.ndarray, num_clusters: int, iterations: int, seed: int) -> np.ndarray:
    """The cluster of each row (spherical k-means, faiss)."""
    faiss = require("faiss", "dedup")
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    k = max(1, min(num_clusters, len(x)))
    if k == 1:
        return np.zeros(len(x), dtype=np.int64)
    model = faiss.Kmeans(x.shape[1], k, niter=iterations, seed=seed, spherical=True, verbose=False)
    model.cp.min_points_per_centroid = 1  # small corpora: no "too few points" warnings
    model.train(x)
    _, assigned = model.index.search(x, 1)
    return assigned[:, 0].astype(np.int64)


def keep_order(members: np.ndarray, embeddings: np.ndarray, ids: Sequence[str], keep: Keep) -> np.ndarray:
    """``members`` (row indices of one cluster) in the order in which they are kept."""
    if keep == "first":
        return members[np.argsort(np.asarray([ids[i] for i in members]), kind="stable")]
    x = embeddings[members]
    centroid = x.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    distance = 1.0 - x @ centroid
    order = np.argsort(-distance if keep == "hard" else distance, kind="stable")
    return members[order]


def earlier_best(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row j of ``x`` (ranked rows of one cluster): max_i<j of x_i . x_j and its argmax."""
    size = len(x)
    best = np.full(size, -np.inf, dtype=np.float32)
    arg = np.full(size, -1, dtype=np.int64)
    block = max(1, BLOCK_ELEMENTS // max(size, 1))
    for c0 in range(1, size, block):
        c1 = min(size, c0 + block)
        scores = x[:c1] @ x[c0:c1].T  # rows: candidates i < c1; columns: clips j in [c0, c1)
        scores[np.arange(c1)[:, None] >= np.arange(c0, c1)[None, :]] = -np.inf
        top = scores.argmax(axis=0)
        best[c0:c1] = scores[top, np.arange(c1 - c0)]
        arg[c0:c1] = top
    return best, arg


def similarities(
    embeddings: np.ndarray,
    ids: Sequence[str],
    *,
    num_clusters: int | None,
    iterations: int,
    seed: int,
    keep: Keep,
    progress: bool = False,
) -> Similarities:
    """Step 1-3 of the module docstring for ``embeddings`` [N, D] (L2-normalised rows)."""
    from tqdm.auto import tqdm

    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(x)
    clusters = kmeans(x, num_clusters or max(1, round(n**0.5)), iterations, seed)
    best_match = np.full(n, -1, dtype=np.int64)
    best_similarity = np.full(n, -np.inf, dtype=np.float32)
    order = np.argsort(clusters, kind="stable")
    bounds = np.flatnonzero(np.diff(clusters[order])) + 1
    with tqdm(total=n, unit="clip", desc="dedup", disable=not progress, dynamic_ncols=True) as bar:
        for members in np.split(order, bounds):
            ranked = keep_order(members, x, ids, keep)
            best, arg = earlier_best(x[ranked])
            best_similarity[ranked] = best
            best_match[ranked] = np.where(arg >= 0, ranked[np.maximum(arg, 0)], -1)
            bar.update(len(members))
    return Similarities(clusters, best_match, best_similarity)


def threshold_table(result: Similarities, eps_values: Sequence[float]) -> list[dict[str, float | int]]:
    """How many clips each ``eps`` removes."""
    n = len(result.cluster)
    rows = []
    for eps in sorted(set(eps_values)):
        removed = int(result.removed(eps).sum())
        rows.append({"eps": eps, "removed": removed, "kept": n - removed, "removed_fraction": removed / max(n, 1)})
    return rows
