import json
from pathlib import Path

import pytest
from cosmos_datasets.dataset_types.msrvtt import MsrvttDataset
from cosmos_datasets.errors import DatasetConfigError, MetadataError


@pytest.fixture
def videos(sample_dataset) -> Path:
    return sample_dataset.parent / "videos"


def stems(videos: Path, count: int) -> list[str]:
    return sorted(p.stem for p in videos.glob("*.mp4"))[:count]


@pytest.fixture
def msrvtt(small_config, write_metadata):
    def make(rows, name="msrvtt.json", **fields):
        metadata = write_metadata(rows, name) if isinstance(rows, list) else rows
        return MsrvttDataset(small_config(dataset_type="msrvtt", metadata=str(metadata), **fields), training=False)

    return make


def test_rows_with_the_mp4_urls_glob(videos, msrvtt):
    a, b, c = stems(videos, 3)
    rows = [
        {"video_id": a, "caption": "first sentence of a"},
        {"video_id": b, "caption": ["b one", "b two"]},
        {"video_id": a, "caption": "second sentence of a"},
        {"video": f"somewhere/{c}.mp4", "sentences": ["c only"]},  # id from the file name
    ]
    dataset = msrvtt(rows, mp4_urls=str(videos / "*.mp4"))
    assert len(dataset) == 3 and dataset.label_names() == ["first sentence of a", "b one", "c only"]
    first = dataset[0]
    assert first["path"] == str(videos / f"{a}.mp4") and first["label"] == 0
    assert first["captions"] == ["first sentence of a", "second sentence of a"]
    assert first["video"].shape == (4, 3, 16, 16) and dataset[2]["label"] == 2


def test_random_caption_draws_from_all_sentences_in_training(videos, small_config, write_metadata):
    (a,) = stems(videos, 1)
    config = small_config(
        dataset_type="msrvtt",
        metadata=str(write_metadata([{"video_id": a, "caption": ["one", "two", "three"]}])),
        mp4_urls=str(videos / "*.mp4"),
        random_caption=True,
    )
    training = MsrvttDataset(config, training=True)
    assert {training.pick_caption(training.clips[0].captions) for _ in range(60)} == {"one", "two", "three"}
    assert MsrvttDataset(config, training=False)[0]["caption"] == "one"


def test_official_annotation_layout_with_split(videos, msrvtt, tmp_path):
    a, b = stems(videos, 2)
    document = {
        "info": {"year": 2016},
        "videos": [{"video_id": a, "split": "train", "id": 0}, {"video_id": b, "split": "test", "id": 1}],
        "sentences": [
            {"video_id": b, "caption": "b test sentence", "sen_id": 0},
            {"video_id": a, "caption": "a train sentence", "sen_id": 1},
            {"video_id": a, "caption": "another a sentence", "sen_id": 2},
        ],
    }
    metadata = tmp_path / "train_val_videodatainfo.json"
    metadata.write_text(json.dumps(document, indent=2))
    train = msrvtt(metadata, mp4_urls=str(videos / "*.mp4"), split="train")
    assert [clip.captions for clip in train.clips] == [("a train sentence", "another a sentence")]
    assert len(msrvtt(metadata, mp4_urls=str(videos / "*.mp4"))) == 2


def test_video_paths_without_a_glob(videos, msrvtt):
    a, b = stems(videos, 2)
    rows = [{"video_id": "x", "video": f"{a}.mp4", "caption": "a"}, {"video": f"{b}.mp4", "caption": "b"}]
    dataset = msrvtt(rows, data_root=str(videos))
    assert [clip.path for clip in dataset.clips] == [str(videos / f"{a}.mp4"), str(videos / f"{b}.mp4")]
    with pytest.raises(MetadataError, match="msrvtt.json:2: msrvtt entry for 'x' has no 'video' field and mp4_urls"):
        msrvtt([{"video_id": "x", "caption": "a"}])


def test_a_glob_matching_nothing_says_so(msrvtt, tmp_path):
    with pytest.raises(DatasetConfigError, match=r"msrvtt: 0 videos found: the glob '.*/nothing/\*.mp4'"):
        msrvtt([{"video_id": "v", "caption": "c"}], mp4_urls=str(tmp_path / "nothing" / "*.mp4"))


def test_videos_without_files_are_missing(videos, msrvtt, small_config, write_metadata):
    (a,) = stems(videos, 1)
    rows = [{"video_id": a, "caption": "here"}, {"video_id": "video9999", "caption": "gone"}]
    dataset = msrvtt(rows, mp4_urls=str(videos / "*.mp4"))
    assert len(dataset) == 1
    assert dataset.skipped_at_build() == [
        {
            "path": "video9999",
            "reason": f"missing file: no video file named 'video9999' matches mp4_urls '{videos}/*.mp4'",
        }
    ]
    strict = small_config(
        dataset_type="msrvtt",
        metadata=str(write_metadata(rows)),
        mp4_urls=str(videos / "*.mp4"),
        skip_missing_files=False,
    )
    with pytest.raises(DatasetConfigError, match="meta.json:6: no video file named 'video9999'"):
        MsrvttDataset(strict, training=False)


def test_caption_to_label(videos, msrvtt):
    a, b = stems(videos, 2)
    rows = [{"video_id": a, "caption": "dog"}, {"video_id": b, "caption": "cat"}]
    dataset = msrvtt(rows, mp4_urls=str(videos / "*.mp4"), caption_to_label={"cat": 0, "dog": 1})
    assert dataset.label_names() == ["cat", "dog"] and [dataset[0]["label"], dataset[1]["label"]] == [1, 0]
    with pytest.raises(MetadataError, match="caption 'dog' is not in caption_to_label"):
        msrvtt(rows, mp4_urls=str(videos / "*.mp4"), caption_to_label={"cat": 0})


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"video_id": "v"}, "msrvtt.json:2: msrvtt entry has no 'caption' field"),
        ({"caption": "c"}, "msrvtt.json:2: msrvtt entry has no 'video_id' or 'video' field"),
        ({"video_id": "v", "caption": []}, "field 'caption' must be a sentence or a non-empty list"),
        ({"video_id": ["v"], "caption": "c"}, "field 'video_id' must be a string"),
    ],
)
def test_malformed_rows_name_the_field(msrvtt, row, message):
    with pytest.raises(MetadataError, match=message):
        msrvtt([row])


def test_split_filter_needs_the_field(videos, msrvtt):
    (a,) = stems(videos, 1)
    with pytest.raises(MetadataError, match="msrvtt entry has no 'split' field, but the dataset filters on"):
        msrvtt([{"video_id": a, "caption": "c"}], mp4_urls=str(videos / "*.mp4"), split="test")
