"""The ONNX exporter on a toy family: any family offering graphs gets export and its checks."""

from __future__ import annotations

import attrs
import numpy as np
import onnx
import pytest
import torch
from cosmos_export.errors import ExportFailed, ModeNotOffered
from cosmos_export.exporters import OnnxExporter
from cosmos_export.opset import convert_file_opset, model_opset
from cosmos_export.parity import check_parity, open_session


def test_static_batch_at_opset_17(source, settings, tmp_path):
    output = tmp_path / "toy_video.onnx"
    report = OnnxExporter().export(source, attrs.evolve(settings, batch_size=3), output)
    assert model_opset(output) == 17
    session = open_session(output)
    assert [node.shape for node in session.get_inputs()] == [[3, 3, 6]]
    assert [node.name for node in session.get_outputs()] == ["embedding"]
    (parity,) = report.parity
    assert parity.stage == "export" and [r.batch_size for r in parity.results] == [3]
    assert parity.max_abs_error < 1e-6
    assert report.to_dict()["inputs"] == ["features"]


def test_dynamic_batch_with_simplify_checks_other_batch_sizes(source, settings, tmp_path):
    # ToyPair holds an nn.Embedding, whose value the exporter names "embedding", like our first output.
    output = tmp_path / "toy_combined.onnx"
    chosen = attrs.evolve(settings, mode="combined", batch_size=-1, simplify=True, opset_version=18)
    report = OnnxExporter().export(source, chosen, output)
    assert model_opset(output) == 18
    assert [p.stage for p in report.parity] == ["export", "simplify"]
    assert all([r.batch_size for r in p.results] == [1, 3] for p in report.parity)
    session = open_session(output)
    assert all(isinstance(node.shape[0], str) for node in [*session.get_inputs(), *session.get_outputs()])
    # Independently of the exporter's own check: a batch size it never used.
    graph = source.graphs["combined"]
    inputs = graph.make_inputs(5, seed=77)
    got = session.run(None, {name: t.numpy() for name, t in zip(graph.input_names, inputs, strict=True)})
    with torch.no_grad():
        expected = graph.module(*inputs)
    for onnx_out, eager in zip(got, expected, strict=True):
        np.testing.assert_allclose(onnx_out, eager.numpy(), atol=1e-6)


def test_parity_check_reports_the_measured_error(source, settings, tmp_path):
    output = tmp_path / "toy_video.onnx"
    OnnxExporter().export(source, settings, output)
    graph = source.graphs["video"]
    with torch.no_grad():
        graph.module.proj.bias.add_(0.5)  # the eager model no longer matches the file
    with pytest.raises(ExportFailed, match=r"max abs error \d.* > tolerance 1e-05"):
        check_parity(output, graph, [1], stage="export", first_seed=0)


def test_a_mode_the_family_does_not_offer(source, settings, tmp_path):
    with pytest.raises(ModeNotOffered, match="toy-family offers the graphs combined, video"):
        OnnxExporter().export(source, attrs.evolve(settings, mode="text"), tmp_path / "x.onnx")


def test_problems_name_the_setting_and_the_fix(settings, monkeypatch, tmp_path):
    exporter = OnnxExporter()
    assert exporter.problems(settings, tmp_path / "ok.onnx") == []
    problems = exporter.problems(attrs.evolve(settings, opset_version=16, batch_size=0), tmp_path / "out.txt")
    assert any("export.opset_version=16" in p and "17" in p for p in problems)
    assert any("export.batch_size=0" in p and "-1" in p for p in problems)
    assert any("export.onnx_file" in p for p in problems)
    assert any("supports opsets up to" in p for p in exporter.problems(attrs.evolve(settings, opset_version=99)))

    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxsim" else real_find_spec(name, *a)
    )
    (problem,) = exporter.problems(attrs.evolve(settings, simplify=True))
    assert "onnxsim" in problem and "pip install 'cosmos-export[onnx]'" in problem


def test_opset_18_reductions_lower_to_valid_opset_17(tmp_path):
    """onnx's 18 -> 17 adapter leaves ``noop_with_empty_axes`` on ReduceMean; the lowering drops it."""
    helper = onnx.helper
    axes = helper.make_tensor("axes", onnx.TensorProto.INT64, [1], [1])
    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0, noop_with_empty_axes=0)
    graph = helper.make_graph(
        [node],
        "reduce",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
        initializer=[axes],
    )
    path = tmp_path / "reduce.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    onnx.save(model, str(path))
    convert_file_opset(path, 17)
    assert model_opset(path) == 17
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = open_session(path).run(None, {"x": x})
    np.testing.assert_allclose(y, x.mean(axis=1))
