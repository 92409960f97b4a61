"""The training dataset: the reference's sample keys and shapes, seeded draws, and counted skips."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from cosmos_datasets.errors import DatasetConfigError
from cosmos_datasets.skips import SkippedSample
from cosmos_transfer.data.dataset import TransferDataset, modality_for_hint_key
from cosmos_transfer.data.errors import ControlFileError
from cosmos_transfer.data.video_io import Mp4Writer

FRAMES, SIZE = 14, (36, 64)  # the conftest's sample_spec, checked below
WINDOW = 9
BUCKET = (192, 320)  # the 256 resolution's 16:9 bucket (H, W)


def test_sample_spec(sample_spec):
    assert (sample_spec["frames"], sample_spec["size"]) == (FRAMES, SIZE)


def build(root, modalities, name, **kwargs):
    kwargs.setdefault("num_frames", WINDOW)
    kwargs.setdefault("resolution", "256")
    return TransferDataset(root, modalities.get(name) if name else None, **kwargs)


@pytest.mark.parametrize("name", ["edge", "vis", "upscale", "depth", "seg", "keypoint"])
def test_sample_has_the_reference_keys_and_shapes(sample_root, modalities, name):
    sample = build(sample_root, modalities, name)[0]
    assert not isinstance(sample, SkippedSample), sample
    for key in ("video", f"control_input_{name}"):
        assert sample[key].dtype == torch.uint8 and sample[key].shape == (3, WINDOW, *BUCKET), key
    assert sample["t5_text_embeddings"].shape == (512, 1024) and sample["t5_text_embeddings"].dtype == torch.float32
    assert sample["t5_text_mask"].dtype == torch.int64 and bool((sample["t5_text_mask"] == 1).all())
    assert (
        int((sample["t5_text_embeddings"].abs().sum(dim=1) > 0).sum())
        == len(["a", "yellow", "square", "moving", "right"]) + 1
    )
    assert sample["fps"] == 24.0 and sample["num_frames"] == WINDOW
    assert sample["frame_end"] - sample["frame_start"] == WINDOW and 0 <= sample["frame_start"] <= FRAMES - WINDOW
    assert sample["aspect_ratio"] == "16,9"
    assert sample["padding_mask"].shape == (1, *BUCKET) and sample["padding_mask"].dtype == torch.float32
    assert sample["video_name"]["start_frame_id"] == str(sample["frame_start"])
    assert sample["video_name"]["t5_embedding_path"].endswith("t5_xxl/clip0.pickle")


def test_geometry_of_a_padded_sample(sample_root, modalities):
    sample = build(sample_root, modalities, "depth")[0]
    # 64x36 -> fits 320x192 at scale 5: 180x320, padded by 6 rows above and below
    assert sample["image_size"].tolist() == [192.0, 320.0, 180.0, 320.0]
    mask = sample["padding_mask"][0]
    assert float(mask[6:186].sum()) == 0 and bool((mask[:6] == 1).all()) and bool((mask[186:] == 1).all())
    video = sample["video"]
    assert torch.equal(video[:, :, 5], video[:, :, 7])  # mirrored about row 6, the first image row


def test_draws_depend_on_index_epoch_and_seed_only(sample_root, modalities):
    dataset = build(sample_root, modalities, "edge")
    first = dataset[1]
    again = build(sample_root, modalities, "edge")[1]
    assert first["frame_start"] == again["frame_start"] and torch.equal(
        first["control_input_edge"], again["control_input_edge"]
    )
    starts = set()
    for epoch in range(6):
        dataset.set_epoch(epoch)
        starts.add(dataset[1]["frame_start"])
    assert len(starts) > 1


def test_edge_control_marks_the_square(sample_root, modalities):
    sample = build(sample_root, modalities, "edge")[0]
    edges = sample["control_input_edge"][0, 0]
    assert torch.equal(sample["control_input_edge"][0], sample["control_input_edge"][2])
    assert float(edges[6:186].float().mean()) > 1  # edges exist inside the image area


def test_hint_key_lookup(modalities):
    assert modality_for_hint_key("control_input_seg", modalities).name == "seg"
    assert modality_for_hint_key("depth", modalities).name == "depth"


def test_missing_control_file_is_counted_at_build(dataset_copy, modalities):
    (dataset_copy / "seg" / "clip1.pickle").unlink()
    dataset = build(dataset_copy, modalities, "seg")
    assert len(dataset) == 1
    [record] = dataset.skipped_at_build()
    assert record["path"].endswith("seg/clip1.pickle") and record["reason"].startswith("missing file")
    with pytest.raises(DatasetConfigError, match="seg/clip1.pickle"):
        build(dataset_copy, modalities, "seg", skip_missing_files=False)


def test_missing_t5_is_counted_at_build(dataset_copy, modalities):
    (dataset_copy / "t5_xxl" / "clip0.pickle").unlink()
    dataset = build(dataset_copy, modalities, "edge")
    assert dataset.clips == ["clip1"] and "t5_xxl/clip0.pickle" in dataset.skipped_at_build()[0]["path"]


def short_depth(root, frames):
    with Mp4Writer(root / "depth" / "clip0.mp4", 24) as writer:
        for _ in range(frames):
            writer.write(np.zeros((*SIZE, 3), np.uint8))


def test_depth_with_fewer_frames_is_skipped_naming_the_frames(dataset_copy, modalities):
    short_depth(dataset_copy, 4)
    item = build(dataset_copy, modalities, "depth")[0]
    assert isinstance(item, SkippedSample)
    assert item.path.endswith("depth/clip0.mp4") and item.reason.startswith("misaligned control")
    assert "has 4 frames" in item.reason and f"({WINDOW} frames)" in item.reason
    with pytest.raises(ControlFileError, match="has 4 frames"):
        build(dataset_copy, modalities, "depth", skip_missing_files=False)[0]


def test_depth_of_another_size_is_skipped(dataset_copy, modalities):
    with Mp4Writer(dataset_copy / "depth" / "clip0.mp4", 24) as writer:
        for _ in range(FRAMES):
            writer.write(np.zeros((40, 64, 3), np.uint8))
    item = build(dataset_copy, modalities, "depth")[0]
    assert isinstance(item, SkippedSample) and "is 64x40" in item.reason


def test_seg_mask_of_another_size_is_skipped(dataset_copy, modalities):
    from cosmos_transfer.data.seg_pickle import write_seg_pickle

    write_seg_pickle(dataset_copy / "seg" / "clip0.pickle", [("box", np.ones((FRAMES, 30, 64), np.uint8))])
    item = build(dataset_copy, modalities, "seg")[0]
    assert isinstance(item, SkippedSample) and item.reason.startswith("misaligned control")
    assert "is 64x30" in item.reason and "seg/clip0.pickle" in item.reason


def test_keypoint_pickle_missing_frame_ids_is_skipped(dataset_copy, modalities):
    path = dataset_copy / "keypoint" / "clip0.pickle"
    with open(path, "rb") as handle:
        people = pickle.load(handle)
    for frame in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12):
        del people[frame]
    path.write_bytes(pickle.dumps(people))
    item = build(dataset_copy, modalities, "keypoint")[0]
    assert isinstance(item, SkippedSample) and item.reason.startswith("misaligned control")
    assert "frame ids the sample needs" in item.reason and "keypoint/clip0.pickle" in item.reason


def test_too_short_video_is_skipped(sample_root, modalities):
    item = build(sample_root, modalities, "edge", num_frames=FRAMES + 1)[0]
    assert isinstance(item, SkippedSample) and item.reason.startswith("too short")
    with pytest.raises(DatasetConfigError, match="fewer than the 15"):
        build(sample_root, modalities, "edge", num_frames=FRAMES + 1, skip_missing_files=False)[0]


def test_unsafe_control_pickle_is_refused_and_counted(dataset_copy, modalities, tmp_path):
    marker = tmp_path / "ran"
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    (dataset_copy / "seg" / "clip0.pickle").write_bytes(payload)
    item = build(dataset_copy, modalities, "seg")[0]
    assert isinstance(item, SkippedSample) and item.reason.startswith("bad file") and "os.system" in item.reason
    assert not marker.exists()


def test_video_only_dataset(sample_root, modalities):
    sample = build(sample_root, modalities, None)[0]
    assert sample["video"].shape == (3, WINDOW, *BUCKET) and not any(k.startswith("control_input") for k in sample)


def test_upscale_trains_on_its_crop(tmp_path, modalities):
    from cosmos_transfer.data.layout import DatasetLayout
    from cosmos_transfer.data.samples import moving_square_frames, write_sample_clip

    layout = DatasetLayout(tmp_path / "big")
    write_sample_clip(layout, "wide", moving_square_frames(3, (720, 1300)), modalities=())
    sample = TransferDataset(layout.root, modalities.get("upscale"), num_frames=2, resolution="720")[0]
    # the 1280x704 crop fills the 720p bucket: no resize, no padding (the whole video would fit as 1271x704)
    assert sample["image_size"].tolist() == [704.0, 1280.0, 704.0, 1280.0]
    assert float(sample["padding_mask"].sum()) == 0
    assert sample["control_input_upscale"].shape == sample["video"].shape == (3, 2, 704, 1280)


def test_pickled_dataset_leaves_its_buffers_behind(sample_root, modalities):
    dataset = build(sample_root, modalities, "edge")
    dataset[0]
    assert dataset._frame_buffers
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy._frame_buffers == {} and copy._probes == {} and copy.clips == dataset.clips
    assert torch.equal(copy[0]["control_input_edge"], dataset[0]["control_input_edge"])
