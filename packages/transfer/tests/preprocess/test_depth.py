"""Depth videos: frame-aligned with their clip, same size and rate, normalised over the whole video."""

from __future__ import annotations

import numpy as np
import torch
from cosmos_transfer.data.video_io import iter_frames, probe_video, read_window
from cosmos_transfer.preprocess.depth import DepthEstimator, write_depth_video


def expected_depth(estimator, frames):
    """The reference's recipe, written out: predict, bicubic to the frame size, one min/max per video."""
    depth = estimator.predict(list(frames))
    full = torch.nn.functional.interpolate(depth[:, None], size=frames.shape[1:3], mode="bicubic", align_corners=False)
    full = full[:, 0].numpy()
    return ((full - full.min()) / (full.max() - full.min() + 1e-8) * 255.0).astype(np.uint8)


def test_depth_video_is_aligned_and_normalised(tiny_depth, clips, tmp_path):
    estimator = DepthEstimator(str(tiny_depth), device=torch.device("cpu"), batch_size=3)
    target = tmp_path / "clip0.mp4"
    frames = write_depth_video(clips.video("clip0"), target, estimator)
    probe, source = probe_video(target), probe_video(clips.video("clip0"))
    assert frames == probe.num_frames == source.num_frames == 8
    assert probe.size == source.size and probe.fps == source.fps
    depth = read_window(target, 0, 8).astype(int)
    assert np.abs(depth[..., 0] - depth[..., 2]).max() <= 2  # grey: three equal channels
    expected = expected_depth(estimator, np.stack(list(iter_frames(clips.video("clip0"))))).astype(int)
    assert expected.min() == 0 and expected.max() > 200
    assert np.abs(depth[..., 1] - expected).mean() < 3  # what was written, up to the codec's loss
