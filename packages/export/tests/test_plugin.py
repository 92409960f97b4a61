"""cosmos-export registers its exporters under the seed's export modes, without heavy imports."""

from __future__ import annotations

import subprocess
import sys

from cosmos_core.plugins import load_plugins
from cosmos_export.exporters import HuggingFaceExporter, OnnxExporter


def test_exporters_registered_per_mode_with_their_distribution():
    exporters = load_plugins().exporters
    for mode in ("video", "text", "combined"):
        entry = exporters.entry(mode)
        assert isinstance(entry.obj, OnnxExporter)
        assert entry.distribution.startswith("cosmos-export ")
        assert "cosmos-export[onnx]" in entry.help
    assert isinstance(exporters.get("huggingface"), HuggingFaceExporter)


def test_loading_the_plugin_imports_neither_torch_nor_onnx():
    code = (
        "import sys\n"
        "from cosmos_core.plugins import load_plugins\n"
        "load_plugins(disabled=['embed', 'datasets', 'transfer']).exporters.get('video')\n"
        "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'onnxsim', 'safetensors') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
