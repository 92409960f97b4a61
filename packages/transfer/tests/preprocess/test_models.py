"""Missing models and packages stop with a message that says what to download or install."""

from __future__ import annotations

import pytest
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.preprocess.models import load_pretrained, pick_device, require


def test_a_model_neither_local_nor_cached_names_the_download():
    from transformers import T5EncoderModel

    with pytest.raises(PrepareError) as caught:
        load_pretrained(T5EncoderModel.from_pretrained, "google-t5/t5-11b", what="the T5 encoder", flag="--model")
    message = str(caught.value)
    assert "--model google-t5/t5-11b" in message and "hf download google-t5/t5-11b" in message


def test_a_broken_local_folder_is_named(tmp_path):
    from transformers import T5EncoderModel

    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(PrepareError, match=f"--model {tmp_path}: cannot load the T5 encoder from this folder"):
        load_pretrained(T5EncoderModel.from_pretrained, str(tmp_path), what="the T5 encoder", flag="--model")


def test_a_missing_package_names_the_extra():
    with pytest.raises(PrepareError, match=r"pip install 'cosmos-transfer\[preprocess\]'"):
        require("surely_not_a_module_here", purpose="testing")


def test_cuda_on_a_cpu_machine_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PrepareError, match="--device cuda"):
        pick_device("cuda")
    assert pick_device(None).type == "cpu"
