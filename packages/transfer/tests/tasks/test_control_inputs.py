"""control_inputs: one file per clip, existing ones kept, an unreadable clip counted and the rest made."""

from __future__ import annotations

import pytest
from cosmos_transfer.data.samples import write_sample_dataset
from cosmos_transfer.data.video_io import probe_video
from cosmos_transfer.preprocess import random_models
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.tasks import control_inputs


@pytest.fixture(scope="module")
def depth_model(tmp_path_factory):
    return random_models.save_random_depth_anything(tmp_path_factory.mktemp("depth") / "depth")


@pytest.fixture
def layout(tmp_path):
    return write_sample_dataset(tmp_path / "ds", clips=3, num_frames=5, size=(24, 32), modalities=())


def test_depth_files_for_every_clip_resumable(layout, depth_model, parse, ctx):
    (layout.videos_dir / "clip1.mp4").write_bytes(b"not a video")
    args = parse("control_inputs", "--dataset_path", layout.root, "--modality", "depth", "--depth_model", depth_model,
                 "--device", "cpu", "--batch_size", 2)  # fmt: skip
    assert control_inputs.run(args, ctx) == 1
    assert sorted(p.name for p in (layout.root / "depth").iterdir()) == ["clip0.mp4", "clip2.mp4"]
    assert probe_video(layout.root / "depth" / "clip2.mp4").num_frames == 5
    assert "2 made, 0 already there, 1 failed" in ctx.runs[0].summary_line
    assert control_inputs.run(args, ctx) == 1
    assert "0 made, 2 already there, 1 failed" in ctx.runs[1].summary_line


def test_missing_model_stops_with_the_download_hint(layout, parse, ctx):
    args = parse("control_inputs", "--dataset_path", layout.root, "--modality", "depth", "--device", "cpu")
    with pytest.raises(PrepareError, match="hf download depth-anything/Depth-Anything-V2-Small-hf"):
        control_inputs.run(args, ctx)


def test_seg_needs_a_prompt_or_captions(layout, tmp_path, parse, ctx):
    gdino = random_models.save_random_grounding_dino(tmp_path / "gdino")
    sam2 = random_models.save_random_sam2_video(tmp_path / "sam2")
    layout.caption("clip0").unlink()
    args = parse("control_inputs", "--dataset_path", layout.root, "--modality", "seg", "--detector_model", gdino,
                 "--sam2_model", sam2, "--device", "cpu")  # fmt: skip
    with pytest.raises(PrepareError, match="clip0.txt not found: give --prompt"):
        control_inputs.run(args, ctx)
