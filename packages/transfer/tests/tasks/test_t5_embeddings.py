"""t5_embeddings: a pickle per caption in the reference format, flags that take effect, resumable."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from cosmos_transfer.data.samples import write_sample_dataset
from cosmos_transfer.preprocess import random_models
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.tasks import t5_embeddings


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory):
    return random_models.save_random_t5(tmp_path_factory.mktemp("t5") / "t5")


@pytest.fixture
def captions(tmp_path):
    layout = write_sample_dataset(tmp_path / "ds", clips=3, num_frames=2, size=(16, 16), modalities=())
    for name in ("clip0", "clip1", "clip2"):
        layout.t5(name).unlink()
    layout.caption("clip2").write_text("a dog walking on the road near a big tree")
    return layout


def test_embeds_every_caption_then_skips_them(captions, t5_dir, parse, ctx):
    args = parse("t5_embeddings", "--dataset_path", captions.root, "--pretrained_model_name_or_path", t5_dir,
                 "--batch_size", 2, "--device", "cpu")  # fmt: skip
    assert t5_embeddings.run(args, ctx) == 0
    for name, tokens in (("clip0", 6), ("clip2", 11)):
        with open(captions.t5(name), "rb") as handle:
            stored = pickle.load(handle)
        assert isinstance(stored, list) and len(stored) == 1
        assert stored[0].dtype == np.float16 and stored[0].shape == (tokens, 1024)
    assert "3 encoded, 0 already there" in ctx.runs[0].summary_line
    assert t5_embeddings.run(args, ctx) == 0
    assert "0 encoded, 3 already there" in ctx.runs[1].summary_line


def test_max_length_flag_takes_effect(captions, t5_dir, parse, ctx):
    args = parse("t5_embeddings", "--dataset_path", captions.root, "--pretrained_model_name_or_path", t5_dir,
                 "--max_length", 4, "--device", "cpu")  # fmt: skip
    t5_embeddings.run(args, ctx)
    with open(captions.t5("clip2"), "rb") as handle:
        assert pickle.load(handle)[0].shape == (4, 1024)


def test_missing_model_and_missing_captions(captions, tmp_path, parse, ctx):
    args = parse("t5_embeddings", "--dataset_path", captions.root, "--pretrained_model_name_or_path", "org/not-cached")
    with pytest.raises(PrepareError, match="hf download org/not-cached"):
        t5_embeddings.run(args, ctx)
    with pytest.raises(PrepareError, match="no <clip>.txt captions"):
        t5_embeddings.run(parse("t5_embeddings", "--dataset_path", tmp_path / "empty"), ctx)
