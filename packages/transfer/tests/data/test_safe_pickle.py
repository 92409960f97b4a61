"""The restricted unpickler builds the reference formats' types and refuses anything that would run code."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from cosmos_transfer.data.errors import UnsafePickleError
from cosmos_transfer.data.safe_pickle import load_pickle, loads_pickle


class _RunsCode:
    """Unpickling this calls os.system, the classic pickle attack."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_reference_structures_round_trip(protocol):
    data = {
        0: [
            {"body-keypoints": np.arange(399, dtype=np.float16).reshape(133, 3), "face-bbox-abs": np.ones(4, np.int16)}
        ],
        1: [],
        "seg": [
            {
                "phrase": "box",
                "segmentation_mask_rle": {"data": {"size": [6, 1], "counts": b"03"}, "mask_shape": (1, 2, 3)},
            }
        ],
        "scalar": np.float16(0.5),
        "numbers": (1, 2.5, True, None),
    }
    loaded = loads_pickle(pickle.dumps(data, protocol=protocol))
    assert loaded.keys() == data.keys()
    np.testing.assert_array_equal(loaded[0][0]["body-keypoints"], data[0][0]["body-keypoints"])
    assert loaded[0][0]["body-keypoints"].dtype == np.float16
    assert loaded[0][0]["face-bbox-abs"].dtype == np.int16
    assert loaded["seg"] == data["seg"]
    assert loaded["scalar"] == np.float16(0.5) and loaded["numbers"] == (1, 2.5, True, None)


def test_code_in_a_pickle_is_refused_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps([_RunsCode(marker)]))
    with pytest.raises(UnsafePickleError) as caught:
        load_pickle(path)
    assert not marker.exists()
    message = str(caught.value)
    assert str(path) in message and "system" in message and "not executed" in message


def test_other_classes_are_refused(tmp_path):
    class_pickle = pickle.dumps({"when": __import__("datetime").date(2025, 1, 1)})
    with pytest.raises(UnsafePickleError, match="datetime.date"):
        loads_pickle(class_pickle, "dates.pickle")


def test_truncated_pickle_is_an_unpickling_error(tmp_path):
    path = tmp_path / "cut.pickle"
    path.write_bytes(pickle.dumps([np.zeros((4, 1024), np.float16)])[:50])
    with pytest.raises((pickle.UnpicklingError, EOFError)):
        load_pickle(path)
