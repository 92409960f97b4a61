"""cosmos-export's plugin: the ONNX and Hugging Face exporters, one per ``export.mode``.

Registering imports only :mod:`cosmos_export.exporters`, which is light; torch, onnx, onnxruntime and
onnxsim load when an export runs.
"""

from __future__ import annotations

from cosmos_core.hookspecs import hookimpl
from cosmos_core.registry import ExporterRegistry

ONNX_MODES = {
    "video": "ONNX graph of the video encoder (videos -> normalised embedding)",
    "text": "ONNX graph of the text encoder (input_ids, attention_mask -> normalised embedding)",
    "combined": "one ONNX graph holding the video and the text encoder",
}


@hookimpl
def cosmos_register_exporters(registry: ExporterRegistry) -> None:
    from cosmos_export.exporters import HuggingFaceExporter, OnnxExporter

    onnx = OnnxExporter()
    for mode, help in ONNX_MODES.items():
        registry.add(mode, onnx, help=help + "; needs cosmos-export[onnx]")
    registry.add(
        "huggingface",
        HuggingFaceExporter(),
        help="Hugging Face layout: sharded safetensors, index, config.json, tokenizer files",
    )
