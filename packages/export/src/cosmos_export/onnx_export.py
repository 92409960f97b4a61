"""Export one offered graph to ONNX, lower it to the asked opset, check it, optionally simplify it.

Exporter choice: ``torch.onnx.export(dynamo=True)`` (torch.export). The TorchScript exporter
(``dynamo=False``) records Python integers taken from tensor shapes as constants, and on Cosmos-Embed1
that bakes the export batch size into the temporal encoding's ``Concat`` and the Q-Former's
cross-attention ``Reshape``: with ``batch_size=-1`` the file loads but fails at any other batch size.
torch.export traces the batch as a symbol and fails loudly if the model specialises it. It is slower
(seconds for the tiny model instead of under one) and emits opset 18 or newer, so opset 17 is reached
by converting the saved file (:mod:`cosmos_export.opset`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import attrs
import torch

from cosmos_export.errors import ExportFailed
from cosmos_export.parity import ParityReport, check_interface, check_parity, open_session
from cosmos_export.protocols import ExportSettings, OnnxGraph

logger = logging.getLogger("cosmos.export")

NATIVE_OPSET = 18
"""The lowest opset torch's dynamo exporter emits."""
DYNAMIC_TRACE_BATCH = 2
"""torch.export specialises sizes 0 and 1, so a dynamic batch is traced at 2."""
DYNAMIC_CHECK_BATCHES = (1, 3)
"""Batch sizes a dynamic graph is checked at: neither is the traced one."""
PARITY_SEED = 1000
"""First seed of the parity inputs; the export itself traces with seed 0."""
EXPORTER_LOGGERS = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")
"""Loggers that report the exporter's internals (skipped optional ops, optimizer notes)."""


@attrs.frozen
class OnnxExportReport:
    mode: str
    path: str
    opset_version: int
    batch_size: int
    inputs: list[str]
    outputs: list[str]
    parity: tuple[ParityReport, ...]
    seconds: float
    external_data: str | None = None

    def to_dict(self) -> dict:
        return attrs.asdict(self, recurse=True)

    def summary(self) -> str:
        checks = ", ".join(f"{p.stage} max abs error {p.max_abs_error:.2e}" for p in self.parity)
        batch = "dynamic" if self.batch_size == -1 else str(self.batch_size)
        return (
            f"exported the {self.mode} graph to {self.path} (opset {self.opset_version}, batch {batch}, "
            f"inputs {self.inputs}, outputs {self.outputs}) in {self.seconds:.1f}s; onnxruntime vs eager: "
            f"{checks} (tolerance {self.parity[0].tolerance:g})"
        )


def export_graph(graph: OnnxGraph, settings: ExportSettings, output: Path) -> OnnxExportReport:
    """Export ``graph`` to ``output`` and prove it matches the eager module (see the module docstring)."""
    started = time.perf_counter()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    external = output.with_name(output.name + ".data")
    external.unlink(missing_ok=True)  # a stale weights file from an earlier, larger export

    _export(graph, settings, output)
    _check_model(output)
    if settings.opset_version < NATIVE_OPSET:
        from cosmos_export.opset import convert_file_opset

        convert_file_opset(output, settings.opset_version)

    parity = [_verify(output, graph, settings, "export", PARITY_SEED)]
    if settings.simplify:
        _simplify(output, external)
        parity.append(_verify(output, graph, settings, "simplify", PARITY_SEED + 100))
    return OnnxExportReport(
        mode=settings.mode,
        path=str(output),
        opset_version=settings.opset_version,
        batch_size=settings.batch_size,
        inputs=list(graph.input_names),
        outputs=list(graph.output_names),
        parity=tuple(parity),
        seconds=round(time.perf_counter() - started, 2),
        external_data=str(external) if external.exists() else None,
    )


def _verify(output: Path, graph: OnnxGraph, settings: ExportSettings, stage: str, first_seed: int) -> ParityReport:
    session = open_session(output)
    check_interface(session, graph, settings.batch_size)
    checks = DYNAMIC_CHECK_BATCHES if settings.batch_size == -1 else (settings.batch_size,)
    return check_parity(output, graph, checks, stage=stage, first_seed=first_seed, session=session)


def _check_model(path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportFailed(f"the exporter wrote an invalid ONNX model {path}: {error}") from error


def export_device(on_cpu: bool) -> torch.device:
    if on_cpu:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    logger.warning("export.on_cpu=false but no CUDA device is available; exporting on CPU")
    return torch.device("cpu")


def _export(graph: OnnxGraph, settings: ExportSettings, output: Path) -> None:
    dynamic = settings.batch_size == -1
    inputs = graph.make_inputs(DYNAMIC_TRACE_BATCH if dynamic else settings.batch_size, 0)
    device = export_device(settings.on_cpu)
    module = graph.module.eval().to(device)
    dynamic_shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1)
        dynamic_shapes = tuple({0: batch} for _ in inputs)
    try:
        with _quiet(settings.verbose):
            program = torch.onnx.export(
                module,
                tuple(tensor.to(device) for tensor in inputs),
                dynamo=True,
                opset_version=max(settings.opset_version, NATIVE_OPSET),
                input_names=list(graph.input_names),
                output_names=list(graph.output_names),
                dynamic_shapes=dynamic_shapes,
                verbose=settings.verbose,
                optimize=True,
            )
            _rename_clashing_values(program.model)
            program.save(output)  # weights go to <output>.data above onnxscript's large-model threshold
    finally:
        module.to("cpu")  # the parity check runs the eager module on CPU


def _rename_clashing_values(model) -> None:
    """Give internal values that carry an input or output name a name of their own.

    The dynamo exporter names values after their op (``embedding``, ``linear``, ...) and then renames
    the graph's inputs and outputs to ``input_names``/``output_names`` without looking for clashes:
    an output called ``embedding`` of a graph with an ``nn.Embedding`` inside gives two values of that
    name, which onnxruntime refuses to load.
    """
    interface = {value.name: value for value in [*model.graph.inputs, *model.graph.outputs]}
    taken = set(interface)
    for node in model.graph:
        taken.update(value.name for value in node.outputs if value.name)
    for node in model.graph:
        for value in node.outputs:
            if value.name in interface and interface[value.name] is not value:
                number = 1
                while f"{value.name}_{number}" in taken:
                    number += 1
                value.name = f"{value.name}_{number}"
                taken.add(value.name)


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Without ``export.verbose``, keep the exporter's internal notes and warnings out of the run log."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = [log.level for log in loggers]
    try:
        for log in loggers:
            log.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


def _simplify(output: Path, external: Path) -> None:
    import onnx
    import onnxsim

    if external.exists():
        raise ExportFailed(
            f"export.simplify=true: onnxsim works on in-memory models below protobuf's 2 GB limit, and this "
            f"graph keeps its weights in {external}; export with export.simplify=false"
        )
    simplified, valid = onnxsim.simplify(onnx.load(str(output)))
    if not valid:
        raise ExportFailed(f"onnxsim could not validate the simplified {output}; export with export.simplify=false")
    onnx.save(simplified, str(output))
