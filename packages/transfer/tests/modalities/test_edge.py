"""Edge control: Canny of a known square, and the reference's random thresholds."""

from __future__ import annotations

import numpy as np
from cosmos_transfer.modalities.edge import MODALITY, canny_frames, canny_thresholds


def square_frame():
    frame = np.zeros((40, 60, 3), np.uint8)
    frame[10:30, 20:40] = 255  # rows 10..29, columns 20..39
    return frame


def test_canny_edges_trace_the_square_border():
    edges = canny_frames(square_frame()[None], 50, 150)
    assert edges.shape == (1, 40, 60, 3)
    assert np.array_equal(edges[..., 0], edges[..., 1]) and np.array_equal(edges[..., 0], edges[..., 2])
    edge = edges[0, :, :, 0]
    assert set(np.unique(edge).tolist()) == {0, 255}
    rows, cols = np.nonzero(edge)
    # every edge pixel is within one pixel of the border between the square and the background
    near_vertical = ((np.abs(cols - 19.5) <= 1) | (np.abs(cols - 39.5) <= 1)) & (rows >= 9) & (rows <= 30)
    near_horizontal = ((np.abs(rows - 9.5) <= 1) | (np.abs(rows - 29.5) <= 1)) & (cols >= 19) & (cols <= 40)
    assert bool((near_vertical | near_horizontal).all())
    for row in range(11, 29):  # each side is traced along its whole length
        assert edge[row, 18:22].any() and edge[row, 38:42].any()
    for col in range(21, 39):
        assert edge[8:12, col].any() and edge[28:32, col].any()
    assert not edge[13:27, 23:37].any()  # nothing inside


def test_flat_frames_have_no_edges():
    assert not canny_frames(np.full((2, 20, 20, 3), 90, np.uint8), 20, 70).any()


def test_thresholds_follow_the_reference_ranges():
    pairs = [canny_thresholds(np.random.default_rng(seed)) for seed in range(3000)]
    lowers = np.array([lower for lower, _ in pairs])
    diffs = np.array([upper - lower for lower, upper in pairs])
    assert lowers.min() == 20 and lowers.max() == 99
    assert diffs.min() == 50 and diffs.max() == 149  # so the upper never reaches the 255 cap


def test_modality_uses_only_the_given_generator():
    frames = np.repeat(square_frame()[None], 3, axis=0)
    first = MODALITY.compute_frames(frames, np.random.default_rng(7))
    second = MODALITY.compute_frames(frames, np.random.default_rng(7))
    assert np.array_equal(first, second) and first.shape == (3, 40, 60, 3)
