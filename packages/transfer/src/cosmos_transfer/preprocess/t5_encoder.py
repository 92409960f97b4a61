"""T5 encoder embeddings of captions, as the reference's ``scripts/get_t5_embeddings.py`` computes them.

Each caption is tokenized with padding to ``max_length`` and truncation, encoded, the hidden states
past its real length (``</s>`` included) zeroed, cast to float16 and cut to that length: one array
``[L, d_model]`` per caption (``d_model`` is 1024 for the default ``google-t5/t5-11b``). Unlike the
reference script, ``--pretrained_model_name_or_path`` and ``--max_length`` are honoured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cosmos_transfer.preprocess.models import load_pretrained, require

DEFAULT_MODEL = "google-t5/t5-11b"
MAX_LENGTH = 512


class T5Encoder:
    """A T5 tokenizer and encoder loaded from a local folder or the local cache."""

    def __init__(
        self,
        name_or_path: str = DEFAULT_MODEL,
        *,
        max_length: int = MAX_LENGTH,
        device: Any = None,
        dtype: str = "float32",
        cache_dir: str | None = None,
    ) -> None:
        transformers = require("transformers", purpose="t5_embeddings")
        import torch

        from cosmos_transfer.preprocess.models import pick_device

        self.max_length = max_length
        self.device = device if device is not None else pick_device(None)
        flag = "--pretrained_model_name_or_path"
        self.tokenizer = load_pretrained(
            transformers.AutoTokenizer.from_pretrained,
            name_or_path,
            what="the T5 tokenizer",
            flag=flag,
            cache_dir=cache_dir,
            model_max_length=max_length,
        )
        self.model = load_pretrained(
            transformers.T5EncoderModel.from_pretrained,
            name_or_path,
            what="the T5 encoder",
            flag=flag,
            cache_dir=cache_dir,
            dtype=getattr(torch, dtype),
        )
        self.model.to(self.device).eval()

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.d_model)

    def encode(self, captions: Sequence[str]) -> list[np.ndarray]:
        """One float16 ``[L, d_model]`` array per caption, L its number of tokens (at most ``max_length``)."""
        import torch

        batch = self.tokenizer(
            list(captions),
            return_tensors="pt",
            truncation=True,
            padding="max_length",
            max_length=self.max_length,
        )
        input_ids = batch.input_ids.to(self.device)
        attention_mask = batch.attention_mask.to(self.device)
        with torch.inference_mode():
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        lengths = attention_mask.sum(dim=1).tolist()
        hidden = hidden.float().cpu().numpy().astype(np.float16)
        return [hidden[row, :length].copy() for row, length in enumerate(lengths)]
