"""Does an exported ONNX file compute what the eager module computes? Measured, not assumed.

The graph runs in onnxruntime's ``CPUExecutionProvider`` on fresh random inputs (seeds the export
never saw) and the eager module runs on the same inputs on CPU in its own dtype (fp32), so the
measurement depends on neither the GPU nor the precision used for training. The export fails with the
measured error when it exceeds the graph's tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np
import torch

from cosmos_export.errors import ExportFailed
from cosmos_export.protocols import OnnxGraph

STAGE_WORDS = {"export": "exported", "simplify": "simplified"}


@attrs.frozen
class ParityResult:
    batch_size: int
    seed: int
    max_abs_error: dict[str, float]
    """Per output name: the largest absolute difference between onnxruntime and eager."""


@attrs.frozen
class ParityReport:
    stage: str
    """Which file was checked: ``export`` (straight from the exporter) or ``simplify`` (after onnxsim)."""
    tolerance: float
    results: tuple[ParityResult, ...]

    @property
    def max_abs_error(self) -> float:
        return max(max(result.max_abs_error.values()) for result in self.results)


def open_session(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only; onnxruntime warns about unused initializers otherwise
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_interface(session, graph: OnnxGraph, batch_size: int) -> None:
    """Input and output names in the documented order, and the batch dimension as asked."""
    inputs = [node.name for node in session.get_inputs()]
    outputs = [node.name for node in session.get_outputs()]
    if inputs != list(graph.input_names) or outputs != list(graph.output_names):
        raise ExportFailed(
            f"the exported {graph.name} graph has inputs {inputs} and outputs {outputs}, expected "
            f"{list(graph.input_names)} and {list(graph.output_names)}"
        )
    for node in [*session.get_inputs(), *session.get_outputs()]:
        batch_dim = node.shape[0]
        dynamic = isinstance(batch_dim, str)
        if (batch_size == -1) != dynamic or (not dynamic and batch_dim != batch_size):
            wanted = "dynamic" if batch_size == -1 else str(batch_size)
            raise ExportFailed(
                f"{node.name} of the exported {graph.name} graph has batch dimension {batch_dim!r}, "
                f"expected {wanted} (export.batch_size={batch_size})"
            )


def check_parity(
    path: Path,
    graph: OnnxGraph,
    batch_sizes: Sequence[int],
    *,
    stage: str,
    first_seed: int,
    session=None,
) -> ParityReport:
    """Compare onnxruntime with the eager module at each batch size; raise when beyond tolerance.

    ``session``: an onnxruntime session of ``path`` already open (large models load slowly).
    """
    session = session or open_session(path)
    module = graph.module.eval()
    results = []
    for offset, batch_size in enumerate(batch_sizes):
        seed = first_seed + offset
        inputs = graph.make_inputs(batch_size, seed)
        with torch.no_grad():
            expected = module(*inputs)
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        feed = {name: tensor.cpu().numpy() for name, tensor in zip(graph.input_names, inputs, strict=True)}
        got = session.run(list(graph.output_names), feed)
        errors = {}
        for name, eager, onnx_out in zip(graph.output_names, expected, got, strict=True):
            errors[name] = _max_abs_error(name, graph.name, eager, onnx_out, batch_size)
        results.append(ParityResult(batch_size=batch_size, seed=seed, max_abs_error=errors))
    report = ParityReport(stage=stage, tolerance=graph.tolerance, results=tuple(results))
    if not report.max_abs_error <= graph.tolerance:  # also catches NaN
        worst = max(results, key=lambda result: max(result.max_abs_error.values()))
        raise ExportFailed(
            f"the {STAGE_WORDS.get(stage, stage)} {graph.name} graph {path} disagrees with the eager model: "
            f"max abs error {report.max_abs_error:.3g} > tolerance {graph.tolerance:g} (batch size {worst.batch_size}, "
            f"per output {worst.max_abs_error}). Try another export.opset_version"
            + (" or export.simplify=false" if stage == "simplify" else "")
            + "; if it persists, report it with this message."
        )
    return report


def _max_abs_error(output: str, graph: str, eager: torch.Tensor, onnx_out: np.ndarray, batch_size: int) -> float:
    reference = eager.detach().cpu().double().numpy()
    if onnx_out.shape != reference.shape:
        raise ExportFailed(
            f"output {output} of the {graph} graph has shape {list(onnx_out.shape)} at batch size "
            f"{batch_size}, the eager model gives {list(reference.shape)}"
        )
    if not np.isfinite(onnx_out).all():
        return float("nan")
    return float(np.abs(onnx_out.astype(np.float64) - reference).max(initial=0.0))
