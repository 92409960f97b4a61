"""Seg control: a random subset of masks, larger ones painted first, in random colours."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from cosmos_transfer.data.errors import ControlFileError
from cosmos_transfer.data.seg_pickle import encode_mask, write_seg_pickle
from cosmos_transfer.modalities.base import ClipWindow, ControlInputs
from cosmos_transfer.modalities.seg import MODALITY, paint_masks, random_color

T, H, W = 6, 20, 30


def detections():
    big = np.zeros((T, H, W), np.uint8)
    big[:, 2:18, 2:28] = 1
    small = np.zeros((T, H, W), np.uint8)
    small[:, 8:12, 10:14] = 1  # inside big
    side = np.zeros((T, H, W), np.uint8)
    side[:, 0:2, 0:5] = 1
    masks = {"big": big, "small": small, "side": side}
    return [{"phrase": name, "segmentation_mask_rle": encode_mask(mask)} for name, mask in masks.items()], masks


def window(start=1, stop=5):
    return ClipWindow("c", "c.mp4", start, stop, T, (H, W), "4,3", (H, W), 24.0)


def test_painting_order_and_colours_over_many_draws():
    dets, masks = detections()
    seen_counts = set()
    for seed in range(60):
        out, phrases = paint_masks(dets, window(), np.random.default_rng(seed))
        assert out.shape == (4, H, W, 3) and out.dtype == np.uint8
        chosen = phrases.split(";") if phrases else []
        seen_counts.add(len(chosen))
        painted = out.any(axis=3)
        union = np.zeros((4, H, W), bool)
        for name in chosen:
            union |= masks[name][1:5].astype(bool)
        assert np.array_equal(painted, union)  # exactly the chosen masks are painted
        if "big" in chosen and "small" in chosen:  # the smaller object is painted over the larger
            inner = out[:, 10, 12]
            outer = out[:, 4, 4]
            assert (inner == inner[0]).all() and (outer == outer[0]).all() and not np.array_equal(inner[0], outer[0])
        if not chosen:
            assert not out.any()
    assert seen_counts == {0, 1, 2, 3}


def test_colours_are_hsv_in_the_reference_ranges():
    for seed in range(300):
        red, green, blue = random_color(np.random.default_rng(seed)).astype(float) / 255
        hue, saturation, value = colorsys.rgb_to_hsv(red, green, blue)
        assert 0.1 - 0.01 <= saturation <= 1 and 0.2 - 0.01 <= value <= 1


def test_load_checks_size_and_frames(tmp_path):
    path = tmp_path / "c.pickle"
    write_seg_pickle(path, [("a", np.ones((T, H, W), np.uint8))])
    assert len(MODALITY.load(path, window())) == 1
    with pytest.raises(ControlFileError, match="covers 6 frames"):
        MODALITY.load(path, window(2, 8))
    write_seg_pickle(path, [("a", np.ones((T, H + 1, W), np.uint8))])
    with pytest.raises(ControlFileError, match="is 30x21"):
        MODALITY.load(path, window())


def test_compute_returns_the_phrases_and_the_raw_list():
    dets, _ = detections()
    out = MODALITY.compute(ControlInputs(window(), None, dets), np.random.default_rng(4))
    assert out.control.shape == (4, H, W, 3)
    assert set(out.extra) == {"segmentation_phrase_all", "segmentation"} and out.extra["segmentation"] is dets
