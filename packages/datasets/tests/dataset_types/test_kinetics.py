import shutil

import numpy as np
import pytest
from cosmos_datasets.dataset_types.kinetics import KineticsDataset
from cosmos_datasets.errors import DatasetConfigError, MetadataError

HEADER = "label,youtube_id,time_start,time_end,split\n"


@pytest.fixture
def clips(tmp_path, counting_video, sample_dataset):
    """A full video ``full_vid`` (the counting video) and a trimmed clip of ``cut_vid`` from 1 s to 3 s."""
    folder = tmp_path / "clips"
    (folder / "abseiling").mkdir(parents=True)
    shutil.copy(counting_video, folder / "full_vid.mp4")
    shutil.copy(next(sample_dataset.parent.glob("videos/*.mp4")), folder / "abseiling" / "cut_vid_000001_000003.mp4")
    return folder


@pytest.fixture
def kinetics(tmp_path, small_config):
    def make(csv_text: str, training: bool = False, **fields) -> KineticsDataset:
        metadata = tmp_path / "kinetics.csv"
        metadata.write_text(csv_text)
        return KineticsDataset(
            small_config(dataset_type="kinetics", metadata=str(metadata), **fields), training=training
        )

    return make


def test_clip_windows_labels_and_split(kinetics, clips):
    text = HEADER + "air drumming,full_vid,2,3,train\nabseiling,cut_vid,1,3,train\nzumba,full_vid,0,1,test\n"
    train = kinetics(text, mp4_urls=str(clips / "**" / "*.mp4"), split="train")
    assert train.label_names() == ["abseiling", "air drumming", "zumba"]  # the whole file's label set
    full, trimmed = train[0], train[1]
    assert (full["caption"], full["label"], trimmed["caption"], trimmed["label"]) == ("air drumming", 1, "abseiling", 0)
    assert (train.clips[0].start_sec, train.clips[0].end_sec) == (2.0, 3.0)  # full video: sampled in the window
    grey = [round(v) for v in full["video"].float().mean(dim=(1, 2, 3)).tolist()]
    assert np.allclose(grey, [20 + 5 * t for t in (17, 19, 21, 23)], atol=2)
    assert train.clips[1].start_sec is None and trimmed["path"].endswith("cut_vid_000001_000003.mp4")
    assert len(kinetics(text, data_root=str(clips), split="test")) == 1  # data_root is searched without a glob


def test_caption_to_label_and_missing_videos(kinetics, clips):
    text = HEADER + "abseiling,full_vid,0,1,train\nabseiling,no_such_vid,0,10,train\n"
    dataset = kinetics(text, data_root=str(clips), caption_to_label={"zumba": 0, "abseiling": 1})
    assert len(dataset) == 1 and dataset[0]["label"] == 1
    (skip,) = dataset.skipped_at_build()
    assert skip["path"] == "no_such_vid" and skip["reason"].startswith(
        "missing file: no video file named 'no_such_vid'"
    )
    with pytest.raises(DatasetConfigError, match=r"kinetics.csv:3: no video file named 'no_such_vid'"):
        kinetics(text, data_root=str(clips), skip_missing_files=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "youtube_id,time_start\nabc,1\n",
            r"kinetics.csv:1: the kinetics CSV header has no 'label' column \(found: youtube_id, time_start\)",
        ),
        (
            HEADER + "abseiling,full_vid,0,1,train\nabseiling,full_vid,0\n",
            r"kinetics.csv:3: expected 5 comma-separated fields",
        ),
        (
            HEADER + "abseiling,full_vid,soon,1,train\n",
            r"kinetics.csv:2: kinetics row column 'time_start' must be a number",
        ),
        (
            HEADER + "abseiling,full_vid,5,1,train\n",
            r"kinetics.csv:2: kinetics row has time_end 1.0 not after time_start 5.0",
        ),
        (HEADER + ",full_vid,0,1,train\n", r"kinetics.csv:2: kinetics row has an empty 'label' column"),
        (HEADER + 'abseiling,"full_vid,0,1,train\n', r"kinetics.csv:\d+: (malformed CSV|expected 5)"),
        ("\n\n", r"kinetics.csv: the kinetics CSV file is empty"),
    ],
)
def test_malformed_csv_names_file_and_line(kinetics, clips, text, message):
    with pytest.raises(MetadataError, match=message):
        kinetics(text, data_root=str(clips))


def test_needs_metadata_and_videos(kinetics, small_config, tmp_path):
    with pytest.raises(DatasetConfigError, match="needs the videos: set mp4_urls"):
        kinetics(HEADER)
    with pytest.raises(DatasetConfigError, match="needs a metadata file"):
        KineticsDataset(small_config(dataset_type="kinetics", data_root=str(tmp_path)), training=False)
    with pytest.raises(DatasetConfigError, match="kinetics: 0 videos found"):
        kinetics(HEADER + "abseiling,v,0,1,train\n", data_root=str(tmp_path))
