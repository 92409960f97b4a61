import attrs
import numpy as np
import pytest
import torch
from cosmos_datasets.collate import collate_samples
from cosmos_datasets.dataset_types.vad_r1_chunks import VadR1ChunksDataset, split_into_chunks
from cosmos_datasets.errors import DatasetConfigError, MetadataError
from cosmos_datasets.factories import build_vad_r1_chunks
from cosmos_datasets.replacement import ReplaceSkipped
from cosmos_datasets.skips import SkipLog
from torch.utils.data import DataLoader


def counting_value(index: int) -> int:  # the counting_video fixture's frame t has grey level 20 + 5t
    return 20 + 5 * index


def grey_levels(clip: torch.Tensor) -> list[int]:
    return [round(v) for v in clip.float().mean(dim=(1, 2, 3)).tolist()]


def chunk(start, end, anomalous, **extra) -> dict:
    return {"start_time_sec": start, "end_time_sec": end, "is_anomaly": anomalous, **extra}


@pytest.fixture
def config_for(write_metadata, small_config):
    def make(entries, **fields):
        return small_config(dataset_type="vad_r1_chunks", metadata=str(write_metadata(entries)), **fields)

    return make


def test_listed_chunks_sample_frames_inside_their_time_range(counting_video, config_for):
    entry = {
        "video_path": str(counting_video),
        "anomaly_type": "car crash",
        "chunks": [
            chunk(0.0, 2.5, True, chunk_index=0, overlap_ratio=1.0),
            chunk(2.5, 5.0, False, chunk_index=1, overlap_ratio=0.0),
        ],
    }
    dataset = VadR1ChunksDataset(config_for([entry]), training=False)
    assert len(dataset) == 2 and dataset.label_names() == ["car crash", "normal"]
    first, second = dataset[0], dataset[1]
    assert np.allclose(grey_levels(first["video"]), [counting_value(t) for t in (2, 7, 12, 17)], atol=2)
    assert np.allclose(grey_levels(second["video"]), [counting_value(t) for t in (22, 27, 32, 37)], atol=2)
    assert (first["caption"], first["label"], first["is_anomaly"], first["overlap_ratio"]) == (
        "car crash",
        0,
        True,
        1.0,
    )
    assert (second["caption"], second["label"], second["is_anomaly"]) == ("normal", 1, False)
    assert (second["chunk_index"], second["start_sec"], second["end_sec"]) == (1, 2.5, 5.0)


def test_chunks_are_computed_from_chunk_size_and_the_anomaly_window(counting_video, config_for):
    base = {"path": str(counting_video), "anomaly_type": "fire", "anomaly_start_sec": 1.0, "anomaly_end_sec": 3.0}
    by_duration = {**base, "video_duration_sec": 5.0}
    by_frames = {**base, "total_frames": 40, "fps": 8.0}
    probed = dict(base)  # no duration: read from the container
    for entry in (by_duration, by_frames, probed):
        dataset = VadR1ChunksDataset(config_for([entry], chunk_size_sec=2.0), training=False)
        rows = [
            (s["start_sec"], s["end_sec"], s["is_anomaly"], s["overlap_ratio"])
            for s in map(dataset.__getitem__, range(3))
        ]
        assert len(dataset) == 3
        assert [row[:3] for row in rows] == [
            (0.0, 2.0, True),
            (2.0, 4.0, True),
            (4.0, pytest.approx(5.0, abs=0.1), False),
        ]
        assert [row[3] for row in rows[:2]] == [0.5, 0.5]


def test_anomaly_window_from_frames_and_whole_video_defaults():
    assert [c.overlap_ratio for c in split_into_chunks(4.0, 2.0, (0.0, 1.0), True)] == [0.5, 0.0]
    assert [c.is_anomaly for c in split_into_chunks(4.0, 2.0, None, True)] == [True, True]
    assert [c.is_anomaly for c in split_into_chunks(4.0, 2.0, None, False)] == [False, False]


def test_a_short_tail_is_merged_into_the_last_chunk():
    assert [(c.start_sec, c.end_sec) for c in split_into_chunks(5.0, 3.0, None, True)] == [(0.0, 3.0), (3.0, 5.0)]
    assert [(c.start_sec, c.end_sec) for c in split_into_chunks(5.0, 2.2, None, True)] == [(0.0, 2.2), (2.2, 5.0)]
    assert [(c.start_sec, c.end_sec) for c in split_into_chunks(1.0, 5.0, None, True)] == [(0.0, 1.0)]


def test_normal_label_sharing(counting_video, config_for):
    entries = [
        {"path": str(counting_video), "anomaly_type": "fire", "chunks": [chunk(0, 2, True), chunk(2, 4, False)]},
        {"path": str(counting_video), "anomaly_type": "Normal", "chunks": [chunk(0, 2, False)]},
    ]
    shared = VadR1ChunksDataset(config_for(entries), training=False)
    assert shared.label_names() == ["Normal", "fire"]  # the metadata's spelling of the normal class, once
    assert [(shared[i]["caption"], shared[i]["label"]) for i in range(3)] == [("fire", 1), ("Normal", 0), ("Normal", 0)]
    per_class = VadR1ChunksDataset(config_for(entries, normal_share_label=False), training=False)
    assert [(per_class[i]["caption"], per_class[i]["label"]) for i in range(3)] == [
        ("fire", 1),
        ("fire", 1),
        ("Normal", 0),
    ]
    with pytest.raises(DatasetConfigError, match="caption_to_label has no 'Normal' entry"):
        VadR1ChunksDataset(config_for(entries, caption_to_label={"fire": 0}), training=False)


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([{"start_time_sec": 0, "end_time_sec": 1}], "chunk 0 has no 'is_anomaly' field"),
        ([chunk(0, 1, "yes")], "chunk 0 has 'is_anomaly' = 'yes'; it must be true or false"),
        ([chunk(0, 1, True), {"is_anomaly": True}], "chunk 1 has no 'start_time_sec'/'end_time_sec'"),
        ([chunk(2, 1, True)], r"chunk 0 has an empty or negative time range \[2.0, 1.0\]"),
        ([chunk(0, "1", True)], "chunk 0: field 'end_time_sec' must be a number"),
        ("0-5", "'chunks' must be a list of objects"),
        ([], "empty 'chunks' list"),
    ],
)
def test_malformed_chunks_name_entry_chunk_and_field(counting_video, config_for, chunks, message):
    entries = [
        {"path": str(counting_video), "anomaly_type": "fire"},
        {"path": str(counting_video), "anomaly_type": "fire", "chunks": chunks},
    ]
    config = config_for(entries)
    with pytest.raises(MetadataError, match=message) as info:
        VadR1ChunksDataset(config, training=False)
    assert f"{config.metadata}:6: vad_r1_chunks" in str(info.value)


def test_frame_based_chunks_need_the_entry_fps(counting_video, config_for):
    entry = {
        "path": str(counting_video),
        "anomaly_type": "fire",
        "fps": 8,
        "chunks": [{"start_frame": 8, "end_frame": 16, "is_anomaly": True}],
    }
    dataset = VadR1ChunksDataset(config_for([entry]), training=False)
    assert (dataset[0]["start_sec"], dataset[0]["end_sec"]) == (1.0, 2.0)
    del entry["fps"]
    with pytest.raises(MetadataError, match="with the entry's 'fps'"):
        VadR1ChunksDataset(config_for([entry]), training=False)


def test_missing_videos_are_counted_per_chunk_or_stop_the_build(counting_video, config_for, tmp_path):
    gone = str(tmp_path / "gone.mp4")
    entries = [
        {"path": str(counting_video), "anomaly_type": "fire", "video_duration_sec": 5.0},
        {"path": gone, "anomaly_type": "fire", "chunks": [chunk(0, 1, True), chunk(1, 2, False)]},
        {"path": gone, "anomaly_type": "fire"},  # no duration: probing the missing file
    ]
    config = config_for(entries)
    dataset = VadR1ChunksDataset(config, training=False)
    assert len(dataset) == 1
    log = SkipLog()
    log.add(dataset.skipped_at_build())
    assert log.counts()["missing file"] == 3 and log.total == 3
    with pytest.raises(DatasetConfigError, match=r"meta.json:\d+: video file not found: .*gone.mp4"):
        VadR1ChunksDataset(attrs.evolve(config, skip_missing_files=False), training=False)


def test_chunk_batches_through_dataloader_workers(sample_dataset, sample_entries, config_for):
    entries = [{**e, "chunks": [chunk(0.0, 0.5, True), chunk(0.5, 1.0, False)]} for e in sample_entries[:4]]
    config = config_for(entries, data_root=str(sample_dataset.parent))
    dataset = build_vad_r1_chunks(config, training=True)
    assert isinstance(dataset, ReplaceSkipped) and len(dataset) == 8
    batches = list(DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=collate_samples))
    assert [b["video"].shape for b in batches] == [(4, 4, 3, 16, 16)] * 2
    assert [b["is_anomaly"].tolist() for b in batches] == [[True, False, True, False]] * 2
    assert batches[0]["overlap_ratio"].tolist() == [1.0, 0.0, 1.0, 0.0]
