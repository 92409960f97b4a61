"""Lowering an exported ONNX file to an older opset (the seed's default ``export.opset_version`` is 17).

The dynamo exporter emits opset 18 or newer, so opset 17 is reached with ONNX's version converter, run
on the saved file with its weights left in place (``load_external_data=False``), which keeps models
larger than protobuf's 2 GB limit convertible.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import version_converter

from cosmos_export.errors import ExportFailed

# Opset 18 turned the ``axes`` attribute of these reductions into an input and added
# ``noop_with_empty_axes``. onnx 1.23's 18 -> 17 adapter moves ``axes`` back to an attribute but keeps
# ``noop_with_empty_axes``, which opset 17 does not know (onnxruntime rejects the model). ReduceSum is
# absent: it changed in opset 13 and keeps the attribute.
REDUCTIONS_CHANGED_IN_18 = frozenset(
    {
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceMax",
        "ReduceMean",
        "ReduceMin",
        "ReduceProd",
        "ReduceSumSquare",
    }
)


def model_opset(path: Path) -> int:
    model = onnx.load(str(path), load_external_data=False)
    return next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def convert_file_opset(path: Path, target: int) -> None:
    """Rewrite the ONNX file at ``path`` (weights untouched) to opset ``target``."""
    model = onnx.load(str(path), load_external_data=False)
    try:
        converted = version_converter.convert_version(model, target)
    except Exception as error:  # the C++ converter raises RuntimeError/ValueError with an assert text
        raise ExportFailed(
            f"converting the exported graph to export.opset_version={target} failed: {error}. "
            "Use export.opset_version=18 or newer (the exporter's native opset)."
        ) from error
    if target < 18:
        _drop_attributes_unknown_before_18(converted)
    onnx.save(converted, str(path))
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportFailed(
            f"the graph converted to opset {target} is not valid ONNX ({error}). Use export.opset_version=18 or newer."
        ) from error


def _drop_attributes_unknown_before_18(model: onnx.ModelProto) -> None:
    for node in model.graph.node:
        if node.op_type not in REDUCTIONS_CHANGED_IN_18 or node.domain not in ("", "ai.onnx"):
            continue
        names = [attribute.name for attribute in node.attribute]
        if "noop_with_empty_axes" not in names:
            continue
        noop = onnx.helper.get_attribute_value(node.attribute[names.index("noop_with_empty_axes")])
        if noop and "axes" not in names:
            # "reduce nothing" has no opset-17 spelling; never happens for graphs with explicit axes.
            raise ExportFailed(
                f"node {node.name} ({node.op_type}) reduces over no axes, which opset 17 cannot express; "
                "use export.opset_version=18 or newer"
            )
        del node.attribute[names.index("noop_with_empty_axes")]
