"""SAM2-format segmentation pickles: the reference's writer, C-order RLE round trips, partial decoding."""

from __future__ import annotations

import pickle

import numpy as np
import pycocotools.mask as mu
import pytest
from cosmos_transfer.data import seg_pickle
from cosmos_transfer.data.errors import PickleFormatError
from cosmos_transfer.data.seg_pickle import decode_mask, decode_rows, encode_mask, read_seg_pickle, write_seg_pickle


def reference_seg_pickle(path, masks):
    """transfer1_layout.md section 6.2's minimal writer, verbatim in substance."""
    detections = []
    for phrase, m in masks:
        rle = {"data": mu.encode(np.array(np.array(m, order="F").reshape(-1, 1), order="F")), "mask_shape": m.shape}
        detections.append({"phrase": phrase, "segmentation_mask_rle": rle})
    with open(path, "wb") as handle:
        pickle.dump(detections, handle)


def asymmetric_mask(frames=5, height=12, width=20):
    mask = np.zeros((frames, height, width), np.uint8)
    for t in range(frames):
        mask[t, 2 + t : 7 + t, 3 : 5 + 2 * t] = 1  # differs per frame, so a wrong flatten order shows
    return mask


def test_reference_file_decodes_to_its_mask(tmp_path):
    box = np.zeros((6, 16, 24), np.uint8)
    box[:, 3:11, 2:18] = 1
    moving = asymmetric_mask(6, 16, 24)
    path = tmp_path / "clip0.pickle"
    reference_seg_pickle(path, [("box", box), ("thing", moving)])
    detections = read_seg_pickle(path)
    assert [d["phrase"] for d in detections] == ["box", "thing"]
    assert detections[0]["segmentation_mask_rle"]["data"]["size"] == [6 * 16 * 24, 1]
    np.testing.assert_array_equal(decode_mask(detections[0], 0, 6), box)
    np.testing.assert_array_equal(decode_mask(detections[1], 2, 5), moving[2:5])


def test_encoding_flattens_in_c_order():
    mask = asymmetric_mask()
    encoded = encode_mask(mask)
    assert encoded["mask_shape"] == mask.shape
    flat = mu.decode(encoded["data"]).reshape(-1)
    np.testing.assert_array_equal(flat, mask.reshape(-1))  # C order: frame, row, column
    assert not np.array_equal(flat, mask.reshape(-1, order="F").reshape(-1))


def test_writer_round_trip_matches_the_reference_bytes(tmp_path):
    mask = asymmetric_mask()
    ours, theirs = tmp_path / "ours.pickle", tmp_path / "theirs.pickle"
    write_seg_pickle(ours, [("thing", mask)])
    reference_seg_pickle(theirs, [("thing", mask)])
    a, b = read_seg_pickle(ours)[0], read_seg_pickle(theirs)[0]
    assert a["segmentation_mask_rle"]["data"]["counts"] == b["segmentation_mask_rle"]["data"]["counts"]
    assert tuple(a["segmentation_mask_rle"]["mask_shape"]) == tuple(b["segmentation_mask_rle"]["mask_shape"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partial_decoding_matches_full_decoding(seed):
    rng = np.random.default_rng(seed)
    mask = (rng.random((7, 9, 11)) > 0.6).astype(np.uint8)
    data = encode_mask(mask)["data"]
    flat = mask.reshape(-1)
    for start, stop in [(0, flat.size), (0, 1), (13, 200), (99, 594), (flat.size - 5, flat.size)]:
        np.testing.assert_array_equal(decode_rows(data, start, stop), flat[start:stop])


def test_large_masks_decode_only_the_window(monkeypatch):
    mask = asymmetric_mask(8, 10, 14)
    detection = {"phrase": "x", "segmentation_mask_rle": encode_mask(mask)}
    monkeypatch.setattr(seg_pickle, "PARTIAL_DECODE_MB", 0)
    monkeypatch.setattr(seg_pickle, "_mask_utils", lambda: pytest.fail("pycocotools must not decode a large mask"))
    np.testing.assert_array_equal(decode_mask(detection, 3, 7), mask[3:7])


@pytest.mark.parametrize(
    "detections, problem",
    [
        ({"phrase": "x"}, "list of detections"),
        ([{"phrase": "x"}], "is not a dict"),
        (
            [
                {
                    "phrase": "x",
                    "segmentation_mask_rle": {"data": {"size": [6, 1], "counts": b"0"}, "mask_shape": (2, 3)},
                }
            ],
            "(T, H, W)",
        ),
        (
            [
                {
                    "phrase": "x",
                    "segmentation_mask_rle": {"data": {"size": [5, 1], "counts": b"0"}, "mask_shape": (1, 2, 3)},
                }
            ],
            "RLE size",
        ),
    ],
)
def test_malformed_pickles_are_named(tmp_path, detections, problem):
    path = tmp_path / "bad.pickle"
    path.write_bytes(pickle.dumps(detections))
    with pytest.raises(PickleFormatError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read_seg_pickle(path)
