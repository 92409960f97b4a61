"""What Cosmos-Embed1 hands an exporter: its ONNX graphs and its Hugging Face layout.

The object has the shape :mod:`cosmos_export.protocols` describes (``graphs`` for the ONNX exporter,
the ``hf_*`` methods for the Hugging Face one); this package never imports cosmos-export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import torch

from cosmos_embed import hf_layout
from cosmos_embed.config import FAMILY
from cosmos_embed.export_graphs import Embed1Graph, embed1_graphs
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.loading import export_state_dict

STORAGE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@attrs.define
class Embed1ExportSource:
    """A plain (LoRA-merged) network in eval mode, and the dtype its Hugging Face weights are stored in."""

    network: CosmosEmbed1
    storage_dtype: torch.dtype = torch.float32
    video_dtype: str = "float32"
    family: str = FAMILY
    graphs: dict[str, Embed1Graph] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.network.eval()
        self.graphs = embed1_graphs(self.network, self.video_dtype)

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """The released layout (pos_embed at the model's grid, tied decoder stored) in the storage dtype."""
        return {
            key: tensor.to(self.storage_dtype) if tensor.is_floating_point() else tensor
            for key, tensor in export_state_dict(self.network).items()
        }

    def hf_config(self) -> dict[str, Any]:
        return hf_layout.hf_config(self.network.config, self.storage_dtype)

    def hf_files(self) -> dict[str, str]:
        cfg = self.network.config
        return {
            "processor_config.json": hf_layout.json_text(hf_layout.processor_config(cfg)),
            **hf_layout.tokenizer_files(cfg),
            **hf_layout.remote_code_files(cfg),
        }

    def check_hf_reload(self, directory: Path) -> dict[str, Any]:
        return hf_layout.check_reload(directory, self.network, self.storage_dtype)
