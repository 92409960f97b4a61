"""T5 pickles as the reference writes them, and their padding to [512, 1024]."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from cosmos_transfer.data.errors import PickleFormatError
from cosmos_transfer.data.t5_pickle import pad_t5, read_t5_embedding, write_t5_pickle


def test_reads_the_reference_file(tmp_path):
    # scripts/get_t5_embeddings.py: pickle.dump(encoded_text, fp), encoded_text = [float16 array [L, 1024]]
    embedding = np.random.default_rng(0).standard_normal((17, 1024)).astype(np.float16)
    path = tmp_path / "clip0.pickle"
    with open(path, "wb") as handle:
        pickle.dump([embedding], handle)
    read = read_t5_embedding(path)
    assert read.dtype == np.float16 and read.shape == (17, 1024)
    np.testing.assert_array_equal(read, embedding)


def test_writes_the_reference_structure(tmp_path):
    path = write_t5_pickle(tmp_path / "x.pickle", np.ones((5, 1024), np.float32))
    with open(path, "rb") as handle:
        stored = pickle.load(handle)
    assert isinstance(stored, list) and len(stored) == 1
    assert stored[0].dtype == np.float16 and stored[0].shape == (5, 1024)


def test_reads_the_av_layout(tmp_path):
    embedding = np.ones((3, 1024), np.float16)
    path = tmp_path / "clip.pkl"
    with open(path, "wb") as handle:
        pickle.dump({"pickle": {"ground_truth": {"embeddings": {"t5_xxl": [embedding]}}}}, handle)
    np.testing.assert_array_equal(read_t5_embedding(path), embedding)


@pytest.mark.parametrize(
    "content, problem",
    [([], "0 items"), ([np.ones(1024, np.float16)], "float array"), ({"other": 1}, "neither"), ("text", "found str")],
)
def test_wrong_structures_name_the_file(tmp_path, content, problem):
    path = tmp_path / "bad.pickle"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(PickleFormatError, match=problem) as caught:
        read_t5_embedding(path)
    assert str(path) in str(caught.value)


def test_padding_and_truncation():
    embedding = np.arange(17 * 1024, dtype=np.float16).reshape(17, 1024) % 7 + 1
    padded, mask = pad_t5(embedding)
    assert padded.dtype == torch.float32 and padded.shape == (512, 1024)
    assert mask.dtype == torch.int64 and mask.shape == (512,) and bool((mask == 1).all())
    assert int((padded.abs().sum(dim=1) != 0).sum()) == 17
    np.testing.assert_array_equal(padded[:17].numpy(), embedding.astype(np.float32))
    long, _ = pad_t5(np.ones((600, 1024), np.float16))
    assert long.shape == (512, 1024) and bool((long == 1).all())
