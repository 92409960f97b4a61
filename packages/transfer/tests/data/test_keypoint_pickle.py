"""Keypoint pickles in the format of the reference's process_control_input_data_for_training.md."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from cosmos_transfer.data.errors import PickleFormatError
from cosmos_transfer.data.keypoint_pickle import person_record, read_keypoint_pickle, write_keypoint_pickle

KEYS_AND_TYPES = {
    "human-bbox": (np.float16, (5,)),
    "human-bbox-abs": (np.float16, (5,)),
    "body-keypoints": (np.float16, (133, 3)),
    "body-keypoints-abs": (np.float16, (133, 3)),
    "hand-keypoints": (np.float16, (42, 3)),
    "face-bbox": (np.float16, (4,)),
    "face-bbox-abs": (np.int16, (4,)),
}


def test_person_record_fields():
    points = np.stack([np.linspace(0, 199, 133), np.linspace(0, 99, 133)], axis=1)
    scores = np.full(133, 0.8)
    record = person_record(points, scores, (10, 20, 110, 90, 0.9), (100, 200))
    assert {key: (value.dtype, value.shape) for key, value in record.items()} == {
        key: (np.dtype(dtype), shape) for key, (dtype, shape) in KEYS_AND_TYPES.items()
    }
    np.testing.assert_allclose(record["body-keypoints"][:, 0], points[:, 0] / 200, atol=1e-3)
    np.testing.assert_allclose(record["body-keypoints"][:, 1], points[:, 1] / 100, atol=1e-3)
    np.testing.assert_array_equal(record["hand-keypoints"], record["body-keypoints"][91:])
    np.testing.assert_allclose(record["human-bbox"], [0.05, 0.2, 0.55, 0.9, 0.9], atol=1e-3)
    face = points[23:91]
    x1, y1 = face.min(axis=0)
    np.testing.assert_array_equal(record["face-bbox-abs"][:2], np.round([x1, y1]).astype(np.int16))


def test_reads_a_reference_style_file(tmp_path):
    person = {key: np.zeros(shape, dtype) for key, (dtype, shape) in KEYS_AND_TYPES.items()}
    path = tmp_path / "clip0.pickle"
    with open(path, "wb") as handle:
        pickle.dump({0: [], 1: [person], 2: [person, person]}, handle)
    data = read_keypoint_pickle(path)
    assert sorted(data) == [0, 1, 2] and [len(data[i]) for i in range(3)] == [0, 1, 2]


def test_writer_round_trip(tmp_path):
    record = person_record(np.zeros((133, 2)), np.zeros(133), (0, 0, 1, 1, 1), (10, 10))
    path = write_keypoint_pickle(tmp_path / "k.pickle", {0: [record], 1: []})
    data = read_keypoint_pickle(path)
    np.testing.assert_array_equal(data[0][0]["body-keypoints"], record["body-keypoints"])


@pytest.mark.parametrize(
    "content, problem",
    [
        ({}, "non-empty dict"),
        ({"0": []}, "integers"),
        ({0: {}}, "not a list"),
        ({0: [{"body-keypoints": np.zeros((133, 3), np.float16)}]}, "hand-keypoints"),
        ({0: [{"body-keypoints": np.zeros((17, 3)), "hand-keypoints": np.zeros((42, 3))}]}, r"\[133, 3\]"),
    ],
)
def test_malformed_files_are_named(tmp_path, content, problem):
    path = tmp_path / "bad.pickle"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(PickleFormatError, match=problem):
        read_keypoint_pickle(path)
