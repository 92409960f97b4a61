"""What a model family hands the exporters: plain objects of these shapes (structural typing).

A family never imports ``cosmos_export`` (it must work without it installed); it builds objects with
these attributes and passes them to the exporter it found in ``host.exporters``. Nothing here is
imported at runtime by the exporters beyond the names, so any object with the right attributes works.

ONNX (``export.mode`` = the name of one of ``source.graphs``)
    Each :class:`OnnxGraph` is one graph the family offers: a module whose ``forward`` takes the inputs
    in ``input_names`` order and returns one tensor or a tuple in ``output_names`` order, and a
    ``make_inputs`` that builds fresh random inputs. Dimension 0 of every input and output is the batch:
    with ``export.batch_size=-1`` it becomes the dynamic axis ``batch``; all other dimensions stay as
    ``make_inputs`` gives them (frames, resolution and text length follow the checkpoint).

Hugging Face (``export.mode=huggingface``)
    :class:`HuggingFaceSource` gives the tensors in the published layout, ``config.json``, the other
    small files of the layout, and a family-specific reload check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch


class ExportSettings(Protocol):
    """The seed's ``export`` section (TAO ExportConfig); every family uses these field names."""

    mode: str
    opset_version: int
    batch_size: int
    """A fixed batch size, or -1 for a dynamic batch dimension."""
    on_cpu: bool
    verbose: bool
    simplify: bool


class OnnxGraph(Protocol):
    name: str
    module: torch.nn.Module
    input_names: Sequence[str]
    output_names: Sequence[str]
    tolerance: float
    """Largest absolute difference allowed between onnxruntime and the eager module, per output element."""

    def make_inputs(self, batch_size: int, seed: int) -> tuple[torch.Tensor, ...]:
        """Random inputs for ``module`` with ``batch_size`` rows; the same seed gives the same inputs."""


class OnnxSource(Protocol):
    family: str
    graphs: Mapping[str, OnnxGraph]
    """Offered graphs, keyed by the ``export.mode`` that selects them (e.g. video, text, combined)."""


class HuggingFaceSource(Protocol):
    family: str

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors to store, in the published key layout and storage dtype (meta tensors for a dry run)."""

    def hf_config(self) -> dict[str, Any]:
        """The contents of ``config.json``."""

    def hf_files(self) -> dict[str, str]:
        """Other files of the layout (tokenizer, processor config, ...) by file name, as text."""

    def check_hf_reload(self, directory: Path) -> dict[str, Any]:
        """Read ``directory`` back with the family's own loader and compare it with the exported model.

        Raises on a failure (missing or unexpected keys, embeddings that differ where they must not);
        returns what it measured, which goes into the export report.
        """
