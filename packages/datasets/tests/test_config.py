import attrs
import cattrs
import pytest
from cosmos_core.config.schema import field_help
from cosmos_datasets.config import SingleDatasetConfig

SEED_DEFAULTS = {
    "dataset_type": "mock",
    "metadata": None,
    "data_root": None,
    "num_video_frames": 8,
    "resolution": [224, 224],
    "batch_size": 4,
    "workers": 4,
    "drop_last": True,
    "prefetch_factor": 2,
    "pin_memory": True,
    "split": None,
    "random_caption": False,
    "path_remap": {},
    "skip_missing_files": True,
    "caption_field": "anomaly_type",
    "mp4_urls": None,
    "caption_to_label": {},
    "chunk_size_sec": 5.0,
    "normal_share_label": True,
}


def converter() -> cattrs.Converter:
    return cattrs.Converter(forbid_extra_keys=True)


def test_seed_fields_and_defaults():
    config = attrs.asdict(SingleDatasetConfig())
    assert {key: config[key] for key in SEED_DEFAULTS} == SEED_DEFAULTS
    assert (config["decode_backend"], config["num_samples"]) == ("decord", 64)
    assert (config["http_timeout_sec"], config["http_attempts"]) == (30.0, 3)
    assert all(field_help(field) for field in attrs.fields(SingleDatasetConfig))


def test_structures_from_a_dict_including_a_caption_field_list():
    data = {
        "dataset_type": "vad_r1",
        "metadata": "/data/train.json",
        "resolution": [336, 336],
        "caption_field": ["anomaly_type", "what"],
        "path_remap": {"/old/": "/new/"},
        "caption_to_label": {"car crash": 0},
        "decode_backend": "pyav",
    }
    config = converter().structure(data, SingleDatasetConfig)
    assert config.caption_field == ["anomaly_type", "what"] and config.resolution == [336, 336]
    assert converter().structure({"caption_field": "what"}, SingleDatasetConfig).caption_field == "what"
    assert converter().unstructure(config)["caption_field"] == ["anomaly_type", "what"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"caption_field": 3}, "caption_field must be"),
        ({"caption_field": []}, "caption_field must be"),
        ({"decode_backend": "opencv"}, "not in literal"),
        ({"resolution": [224]}, "resolution must be"),
        ({"num_video_frames": 0}, "num_video_frames must be at least 1"),
        ({"workers": -1}, "workers must be 0 or more"),
        ({"chunk_size_sec": 0}, "chunk_size_sec must be greater than 0 seconds"),
        ({"http_attempts": 0}, "http_attempts must be at least 1"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_values_are_rejected(data, message):
    with pytest.raises(cattrs.ClassValidationError) as info:
        converter().structure(data, SingleDatasetConfig)
    assert message in repr(info.value.exceptions)
