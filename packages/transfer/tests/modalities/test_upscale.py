"""Upscale control: a 720p-bucket crop of the full-resolution video and its degraded copy."""

from __future__ import annotations

import collections

import numpy as np
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs
from cosmos_transfer.modalities.upscale import MODALITY, draw_crop, draw_scale


def window(size):
    return ClipWindow("c", None, 0, 2, 2, size, "16,9", (704, 1252), 24.0)


def test_crop_and_degradation_of_a_large_video():
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 255, (1, 720, 1300, 3), dtype=np.uint8), 2, axis=0)
    frames[:, :, :, 1] = np.arange(1300, dtype=np.uint16)[None, None] % 256  # makes every column findable
    out = MODALITY.compute(ControlInputs(window((720, 1300)), frames), np.random.default_rng(5))
    assert out.video.shape == (2, 704, 1280, 3) and out.control.shape == (2, 704, 1280, 3)
    top, left = draw_crop(np.random.default_rng(5), (720, 1300), (704, 1280))
    np.testing.assert_array_equal(out.video, frames[:, top : top + 704, left : left + 1280])
    assert not np.array_equal(out.control, out.video)  # degraded
    assert abs(float(out.control.mean()) - float(out.video.mean())) < 3  # but the same picture


def test_small_videos_are_taken_whole_and_their_control_is_bucket_sized():
    frames = np.full((2, 36, 64, 3), 100, np.uint8)
    out = MODALITY.compute(ControlInputs(window((36, 64)), frames), np.random.default_rng(1))
    assert out.video.shape == (2, 36, 64, 3) and out.control.shape == (2, 704, 1280, 3)


def test_scale_and_crop_draws():
    scales = collections.Counter(draw_scale(np.random.default_rng(seed)) for seed in range(4000))
    assert set(scales) == {1 / 6, 1 / 3, 1 / 2}
    for scale, share in ((1 / 6, 0.3), (1 / 3, 0.5), (1 / 2, 0.2)):
        assert abs(scales[scale] / 4000 - share) < 0.04
    corners = {draw_crop(np.random.default_rng(seed), (710, 1283), (704, 1280)) for seed in range(500)}
    assert corners == {(top, left) for top in range(7) for left in range(4)}
