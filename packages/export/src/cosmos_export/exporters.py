"""The exporters registered in ``host.exporters``, keyed by ``export.mode``.

Every exporter has the same two methods:

``problems(settings, output) -> list[str]``
    Cheap checks before any work (missing optional packages, impossible settings), each naming its
    config path and what to do. Imports nothing heavy.
``export(source, settings, output) -> report``
    Does the export and its checks; the report has ``summary()`` (one line for the log) and
    ``to_dict()`` (for a JSON report). ``settings`` has the seed's ``export`` fields
    (:class:`cosmos_export.protocols.ExportSettings`); ``output`` is the file or folder to write.

``source`` is the model family's object (:mod:`cosmos_export.protocols`). The ONNX exporter exports
``source.graphs[settings.mode]``, so a family that offers graphs named ``video``, ``text`` or
``combined`` gets ONNX export without changes here; a family with other graph names registers
``OnnxExporter()`` under those names in its own plugin.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from cosmos_export.errors import ONNX_EXTRA_HINT, MissingExportDependency, ModeNotOffered
from cosmos_export.protocols import ExportSettings, HuggingFaceSource, OnnxSource

MIN_OPSET = 17
"""The graphs use LayerNormalization, which opset 17 introduced."""


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


class OnnxExporter:
    """One offered graph → ``export.onnx_file``, checked against the eager model in onnxruntime."""

    format = "onnx"
    REQUIRED = ("onnx", "onnxruntime", "onnxscript")

    def problems(self, settings: ExportSettings, output: Path | None = None) -> list[str]:
        problems = []
        needed = self.REQUIRED + (("onnxsim",) if settings.simplify else ())
        missing = _missing(needed)
        if missing:
            problems.append(
                f"export.mode={settings.mode} needs {', '.join(missing)}, which is not installed: {ONNX_EXTRA_HINT}"
            )
        if settings.opset_version < MIN_OPSET:
            problems.append(
                f"export.opset_version={settings.opset_version}: the graphs use LayerNormalization, which "
                f"needs opset {MIN_OPSET} or newer"
            )
        elif "onnx" not in missing:
            import onnx.defs

            newest = onnx.defs.onnx_opset_version()
            if settings.opset_version > newest:
                problems.append(
                    f"export.opset_version={settings.opset_version}: the installed onnx supports opsets up to {newest}"
                )
        if settings.batch_size == 0 or settings.batch_size < -1:
            problems.append(
                f"export.batch_size={settings.batch_size}: give a positive batch size, or -1 for a dynamic "
                "batch dimension"
            )
        if output is not None and output.suffix != ".onnx":
            problems.append(f"export.onnx_file={output}: name an .onnx file")
        return problems

    def export(self, source: OnnxSource, settings: ExportSettings, output: Path) -> Any:
        missing = _missing(self.REQUIRED + (("onnxsim",) if settings.simplify else ()))
        if missing:
            raise MissingExportDependency(f"ONNX export needs {', '.join(missing)}: {ONNX_EXTRA_HINT}")
        graph = source.graphs.get(settings.mode)
        if graph is None:
            raise ModeNotOffered(
                f"export.mode={settings.mode}: {source.family} offers the graphs "
                f"{', '.join(sorted(source.graphs))}; choose one of them"
            )
        from cosmos_export.onnx_export import export_graph

        return export_graph(graph, settings, Path(output))


class HuggingFaceExporter:
    """Sharded safetensors + index + ``config.json`` + the family's files, read back and verified."""

    format = "huggingface"
    REQUIRED = ("safetensors",)

    def problems(self, settings: ExportSettings, output: Path | None = None) -> list[str]:
        missing = _missing(self.REQUIRED)
        if missing:
            return [f"export.mode=huggingface needs {', '.join(missing)}: pip install safetensors"]
        return []

    def export(self, source: HuggingFaceSource, settings: ExportSettings, output: Path) -> Any:
        from cosmos_export.huggingface import export_hf

        return export_hf(source, Path(output))
