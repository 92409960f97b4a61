"""Aspect buckets, aspect-preserving sizes and the reference's reflection padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos_transfer.data.geometry import (
    aspect_ratio_key,
    bucket_size,
    fit_size,
    pad_to_bucket,
    resize_bicubic,
    working_size,
)


@pytest.mark.parametrize(
    "width, height, key",
    [
        (1280, 720, "16,9"),
        (1920, 1080, "16,9"),
        (640, 480, "4,3"),
        (500, 500, "1,1"),
        (720, 1280, "9,16"),
        (480, 640, "3,4"),
        (256, 144, "16,9"),
    ],
)
def test_aspect_ratio_buckets(width, height, key):
    assert aspect_ratio_key(width, height) == key


def test_bucket_sizes_of_the_720p_recipe():
    assert [bucket_size("720", key) for key in ("16,9", "4,3", "1,1", "3,4", "9,16")] == [
        (1280, 704), (960, 704), (960, 960), (704, 960), (704, 1280)
    ]  # fmt: skip


def test_fit_size_matches_the_layout_example():
    # transfer1_layout.md section 6: a 256x144 video gives image_size [704, 1280, 704, 1252]
    assert fit_size((144, 256), bucket_size("720", "16,9")) == (704, 1252)
    assert fit_size((720, 1280), (1280, 704)) == (704, 1252)
    assert fit_size((1080, 1920), (1280, 704)) == (704, 1252)


def test_working_size_shrinks_but_never_enlarges():
    assert working_size((1080, 1920), "16,9") == (704, 1252)
    assert working_size((144, 256), "16,9") == (144, 256)


def test_reflection_padding_matches_torch_reflect():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (2, 5, 7, 3), dtype=np.uint8)
    video, mask, image_size = pad_to_bucket(frames, (12, 8))  # W 12, H 8: pad 2|3 columns, 1|2 rows
    expected = torch.nn.functional.pad(
        torch.from_numpy(frames).permute(3, 0, 1, 2).float(), (2, 3, 1, 2), mode="reflect"
    ).to(torch.uint8)
    assert video.shape == (3, 2, 8, 12) and video.dtype == torch.uint8
    assert torch.equal(video, expected)
    assert mask.shape == (1, 8, 12) and mask.dtype == torch.float32
    assert float(mask.sum()) == 8 * 12 - 5 * 7 and float(mask[0, 1:6, 2:9].sum()) == 0
    assert image_size.tolist() == [8.0, 12.0, 5.0, 7.0] and image_size.dtype == torch.float32


def test_edge_padding_when_the_pad_is_as_wide_as_the_frame():
    frames = np.arange(2 * 3, dtype=np.uint8).reshape(1, 2, 3, 1)
    video, _, _ = pad_to_bucket(frames, (9, 2))  # 3 columns each side: reflect impossible
    expected = torch.nn.functional.pad(
        torch.from_numpy(frames).permute(3, 0, 1, 2).float(), (3, 3, 0, 0), mode="replicate"
    )
    assert torch.equal(video, expected.to(torch.uint8))


def test_no_padding_when_the_frame_fills_the_bucket():
    frames = np.full((1, 4, 6, 3), 9, np.uint8)
    video, mask, image_size = pad_to_bucket(frames, (6, 4))
    assert bool((video == 9).all()) and float(mask.sum()) == 0 and image_size.tolist() == [4, 6, 4, 6]


def test_bicubic_resize_keeps_flat_frames_flat_and_sizes():
    frames = np.full((3, 36, 64, 3), 120, np.uint8)
    out = resize_bicubic(frames, (72, 128))
    assert out.shape == (3, 72, 128, 3) and bool((out == 120).all())
    one_channel = resize_bicubic(np.full((2, 10, 10, 1), 7, np.uint8), (5, 5))
    assert one_channel.shape == (2, 5, 5, 1) and bool((one_channel == 7).all())
