"""SemDeDup: in-cluster similarities (blocked, never N x N), planted duplicates, kept representatives."""

from __future__ import annotations

import numpy as np
import pytest
from cosmos_embed.curation import dedup
from cosmos_embed.curation.dedup import earlier_best, keep_order, similarities, threshold_table


def normalised(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_blocked_earlier_best_equals_the_full_matrix(monkeypatch):
    x = normalised(np.random.default_rng(0).normal(size=(97, 16)))
    monkeypatch.setattr(dedup, "BLOCK_ELEMENTS", 97 * 7)  # 7 columns per block
    best, arg = earlier_best(x)
    full = x @ x.T
    assert best[0] == -np.inf and arg[0] == -1
    for j in range(1, len(x)):
        assert arg[j] == int(np.argmax(full[:j, j]))
        assert best[j] == pytest.approx(full[:j, j].max(), abs=1e-6)


def planted(rng, distinct: int, copies: int, noise: float):
    """``distinct`` clips in 8 loose groups, plus noisy copies of the first ``copies`` of them."""
    centres = normalised(rng.normal(size=(8, 64)))
    base = normalised(centres[rng.integers(0, 8, distinct)] + 0.6 * rng.normal(size=(distinct, 64)) / 8)
    dups = normalised(base[:copies] + noise * rng.normal(size=(copies, 64)) / 8)
    x = np.concatenate([base, dups])
    ids = [f"clip{i:04d}" for i in range(distinct)] + [f"copy{i:04d}" for i in range(copies)]
    return x, ids


@pytest.mark.parametrize("keep", ["hard", "easy", "first"])
def test_planted_duplicates_are_found_and_distinct_clips_kept(keep):
    x, ids = planted(np.random.default_rng(1), distinct=400, copies=40, noise=0.05)
    result = similarities(x, ids, num_clusters=8, iterations=10, seed=0, keep=keep)
    removed = result.removed(0.02)
    removed_ids = {ids[i] for i in np.flatnonzero(removed)}
    assert len(removed_ids) == 40  # one of each pair goes, no distinct clip does
    root = result.representative(0.02)
    for k in range(40):
        original, copy = k, 400 + k
        assert (original in np.flatnonzero(removed)) != (copy in np.flatnonzero(removed))
        assert root[original] == root[copy]
        assert not removed[root[copy]]
    if keep == "first":  # "clip…" sorts before "copy…": the originals are kept
        assert all(name.startswith("copy") for name in removed_ids)


def test_hard_keeps_the_clip_farthest_from_the_centroid():
    x = normalised(np.array([[1.0, 0.0], [0.99, 0.14], [0.98, -0.2]]))
    members = np.arange(3)
    centroid_distance = 1 - x @ (x.mean(0) / np.linalg.norm(x.mean(0)))
    assert keep_order(members, x, ["a", "b", "c"], "hard")[0] == int(np.argmax(centroid_distance))
    assert keep_order(members, x, ["a", "b", "c"], "easy")[0] == int(np.argmin(centroid_distance))
    assert list(keep_order(members, x, ["c", "a", "b"], "first")) == [1, 2, 0]


def test_duplicate_chains_end_at_one_kept_clip():
    # Three nearly identical clips in one cluster: one group, one representative, two removed.
    x = normalised(np.array([[1.0, 0.0, 0.0], [1.0, 0.01, 0.0], [1.0, 0.02, 0.0], [0.0, 1.0, 0.0]]))
    result = similarities(x, list("abcd"), num_clusters=1, iterations=1, seed=0, keep="first")
    assert list(result.removed(0.01)) == [False, True, True, False]
    assert list(result.representative(0.01)) == [0, 0, 0, 3]


def test_threshold_table_counts_grow_with_eps():
    x, ids = planted(np.random.default_rng(2), distinct=300, copies=30, noise=0.05)
    result = similarities(x, ids, num_clusters=None, iterations=5, seed=0, keep="hard")
    table = threshold_table(result, [0.3, 0.001, 0.02])
    assert [row["eps"] for row in table] == [0.001, 0.02, 0.3]
    counts = [row["removed"] for row in table]
    assert counts == sorted(counts) and counts[1] == 30
    assert all(row["removed"] + row["kept"] == 330 for row in table)
