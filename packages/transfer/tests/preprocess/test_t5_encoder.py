"""T5 embeddings: one float16 [L, d_model] array per caption, L its real token count."""

from __future__ import annotations

import numpy as np
import torch
from cosmos_transfer.preprocess.t5_encoder import T5Encoder


def test_embeddings_are_the_unpadded_encoder_outputs(tiny_t5):
    encoder = T5Encoder(str(tiny_t5), device=torch.device("cpu"))
    captions = ["a red square moving right", "a dog"]
    embeddings = encoder.encode(captions)
    lengths = [len(encoder.tokenizer(caption).input_ids) for caption in captions]
    assert lengths[0] > lengths[1] >= 2
    assert [e.shape for e in embeddings] == [(lengths[0], 1024), (lengths[1], 1024)]
    assert all(e.dtype == np.float16 for e in embeddings)
    with torch.inference_mode():  # padding to 512 must not change the real tokens' states
        alone = encoder.model(
            input_ids=encoder.tokenizer([captions[1]], return_tensors="pt").input_ids
        ).last_hidden_state
    np.testing.assert_allclose(embeddings[1].astype(np.float32), alone[0].numpy(), atol=2e-3, rtol=2e-3)


def test_max_length_is_honoured(tiny_t5):
    encoder = T5Encoder(str(tiny_t5), max_length=3, device=torch.device("cpu"))
    [embedding] = encoder.encode(["a red square moving right on the road"])
    assert embedding.shape == (3, 1024)
