import json
import logging

import attrs
import pytest
import torch
from cosmos_datasets.collate import collate_samples
from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset
from cosmos_datasets.entries import resolve_video_path
from cosmos_datasets.errors import DatasetConfigError, MetadataError, VideoDecodeError
from cosmos_datasets.factories import build_vad_r1
from cosmos_datasets.replacement import ReplaceSkipped
from cosmos_datasets.samples import write_corrupt_video
from cosmos_datasets.skips import SkipLog, SkippedSample
from torch.utils.data import DataLoader


def vad(config, training=False) -> VadR1Dataset:
    return VadR1Dataset(config, training=training)


def test_split_filter_and_shared_labels(sample_dataset, small_config):
    root = str(sample_dataset.parent)
    train = vad(small_config(dataset_type="vad_r1", metadata=str(sample_dataset), data_root=root, split="train"))
    test = vad(small_config(dataset_type="vad_r1", metadata=str(sample_dataset), data_root=root, split="test"))
    everything = vad(small_config(dataset_type="vad_r1", metadata=str(sample_dataset), data_root=root))
    assert (len(train), len(test), len(everything)) == (6, 6, 18)
    assert (
        train.label_names()
        == test.label_names()
        == sorted({e["anomaly_type"] for e in json.loads(sample_dataset.read_text())})
    )
    item = train[0]
    assert item["video"].shape == (4, 3, 16, 16) and item["video"].dtype == torch.uint8
    assert train.label_names()[item["label"]] == item["caption"] == item["captions"][0]
    assert item["path"].startswith(root) and item["index"] == 0


def test_path_remap_video_path_and_data_root(sample_dataset, sample_entries, write_metadata, small_config):
    root = sample_dataset.parent
    entries = [
        {"video_path": "/old/place/" + sample_entries[0]["path"], "anomaly_type": "x"},
        {"path": sample_entries[1]["path"], "anomaly_type": "y"},
    ]
    config = small_config(
        dataset_type="vad_r1",
        metadata=str(write_metadata(entries)),
        data_root=str(root),
        path_remap={"/old/": "/wrong/", "/old/place/": f"{root}/"},
    )
    dataset = vad(config)
    assert [clip.path for clip in dataset.clips] == [
        f"{root}/{sample_entries[0]['path']}",
        f"{root}/{sample_entries[1]['path']}",
    ]
    assert resolve_video_path("/abs/v.mp4", data_root="/root", path_remap={}) == "/abs/v.mp4"
    assert resolve_video_path("rel/v.mp4", data_root=None, path_remap={}) == "rel/v.mp4"


def test_caption_field_list_and_random_caption(sample_dataset, sample_entries, write_metadata, small_config):
    root = str(sample_dataset.parent)
    entries = [dict(sample_entries[0]), dict(sample_entries[1])]
    del entries[1]["anomaly_type"]  # falls back to the next available field
    config = small_config(
        dataset_type="vad_r1",
        metadata=str(write_metadata(entries)),
        data_root=root,
        caption_field=["anomaly_type", "what", "why"],
        random_caption=True,
    )
    evaluation = vad(config)
    assert evaluation[0]["caption"] == entries[0]["anomaly_type"]
    assert evaluation[0]["captions"] == [entries[0]["anomaly_type"], entries[0]["what"], entries[0]["why"]]
    assert evaluation[1]["caption"] == entries[1]["what"]
    assert evaluation.label_names() == sorted([entries[0]["anomaly_type"], entries[1]["what"]])
    training = vad(config, training=True)
    seen = {training.pick_caption(training.clips[0].captions) for _ in range(60)}
    assert seen == {entries[0]["anomaly_type"], entries[0]["what"], entries[0]["why"]}


def test_caption_to_label(sample_dataset, sample_entries, write_metadata, small_config):
    captions = sorted({e["anomaly_type"] for e in sample_entries}, reverse=True)
    mapping = {text: i for i, text in enumerate(captions)}
    config = small_config(
        dataset_type="vad_r1",
        metadata=str(sample_dataset),
        data_root=str(sample_dataset.parent),
        caption_to_label=mapping,
    )
    dataset = vad(config)
    assert dataset.label_names() == captions
    assert all(dataset[i]["label"] == mapping[dataset[i]["caption"]] for i in range(3))
    partial = attrs.evolve(config, caption_to_label={captions[0]: 0})
    with pytest.raises(MetadataError, match="is not in caption_to_label"):
        vad(partial)


def test_missing_files_are_skipped_and_counted_or_fail(
    sample_dataset, sample_entries, write_metadata, small_config, caplog
):
    entries = [sample_entries[0], {**sample_entries[1], "path": "videos/gone.mp4"}]
    metadata = write_metadata(entries, name="meta.jsonl")
    config = small_config(dataset_type="vad_r1", metadata=str(metadata), data_root=str(sample_dataset.parent))
    with caplog.at_level(logging.WARNING):
        dataset = vad(config)
    assert len(dataset) == 1 and "1 of 2 items" in caplog.text
    assert dataset.skipped_at_build() == [
        {
            "path": f"{sample_dataset.parent}/videos/gone.mp4",
            "reason": f"missing file: video file not found: {sample_dataset.parent}/videos/gone.mp4",
        }
    ]
    strict = attrs.evolve(config, skip_missing_files=False)
    with pytest.raises(DatasetConfigError, match=rf"{metadata}:2: video file not found: .*gone\.mp4"):
        vad(strict)


def test_corrupt_video_is_skipped_inside_dataloader_workers(
    sample_dataset, sample_entries, write_metadata, small_config, tmp_path
):
    root = sample_dataset.parent
    corrupt = write_corrupt_video(tmp_path / "corrupt.mp4")
    entries = sample_entries[:5] + [{**sample_entries[5], "path": str(corrupt)}]
    config = small_config(
        dataset_type="vad_r1",
        metadata=str(write_metadata(entries)),
        data_root=str(root),
        decode_backend="decord",
    )
    dataset = vad(config)
    assert isinstance(dataset[5], SkippedSample) and dataset[5].reason.startswith("undecodable: ")
    log = SkipLog()
    sizes = []
    for batch in DataLoader(dataset, batch_size=3, num_workers=2, collate_fn=collate_samples):
        log.add(batch["skipped"])
        sizes.append(batch["video"].shape[0])
    assert sizes == [3, 2]
    assert log.summary() == "skipped 1 samples: 0 missing file, 1 undecodable"

    strict = attrs.evolve(config, skip_missing_files=False)
    with pytest.raises(VideoDecodeError, match="corrupt.mp4"):
        vad(strict)[5]
    with pytest.raises(RuntimeError, match="VideoDecodeError.*corrupt.mp4"):  # re-raised from the worker
        list(DataLoader(vad(strict), batch_size=3, num_workers=2, collate_fn=collate_samples))


def test_training_factory_replaces_skipped_items(
    sample_dataset, sample_entries, write_metadata, small_config, tmp_path
):
    root = sample_dataset.parent
    corrupt = write_corrupt_video(tmp_path / "corrupt.mp4")
    entries = [{**sample_entries[0], "path": str(corrupt)}] + sample_entries[1:4]
    config = small_config(dataset_type="vad_r1", metadata=str(write_metadata(entries)), data_root=str(root))
    dataset = build_vad_r1(config, training=True)
    assert isinstance(dataset, ReplaceSkipped) and isinstance(build_vad_r1(config, training=False), VadR1Dataset)
    assert dataset.label_names() == dataset.dataset.label_names()
    batch = collate_samples([dataset[i] for i in range(4)])
    assert batch["video"].shape[0] == 4 and batch["index"].tolist() == [1, 1, 2, 3]
    assert batch["skipped"] == [{"path": str(corrupt), "reason": dataset.dataset[0].reason}]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"metadata": None}, DatasetConfigError, "needs a metadata file"),
        ({"split": "holdout"}, DatasetConfigError, "is empty: 2 entries, 0 in split 'holdout'"),
        (
            {"caption_field": "nope"},
            MetadataError,
            r"meta.json:2: vad_r1 entry has none of the caption fields 'nope'",
        ),
    ],
)
def test_config_problems_are_reported(
    sample_dataset, sample_entries, write_metadata, small_config, change, error, message
):
    fields = {
        "dataset_type": "vad_r1",
        "metadata": str(write_metadata(sample_entries[:2])),
        "data_root": str(sample_dataset.parent),
    }
    with pytest.raises(error, match=message):
        vad(small_config(**{**fields, **change}))


def test_split_filter_needs_the_split_field(sample_entries, write_metadata, small_config):
    entry = {key: value for key, value in sample_entries[0].items() if key != "split"}
    config = small_config(dataset_type="vad_r1", metadata=str(write_metadata([entry])), split="train")
    with pytest.raises(MetadataError, match="meta.json:2: vad_r1 entry has no 'split' field"):
        vad(config)
