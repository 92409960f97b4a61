"""``cosmos-run cosmos-embed1 export``: a checkpoint to ONNX (video, text, combined) or Hugging Face format.

The network is rebuilt from the model config stored in the checkpoint (LoRA adapters merged), so one
spec exports any checkpoint: input shapes follow its frames, resolution and text length. The exporter
is the one registered for ``export.mode`` in ``host.exporters`` (cosmos-export's plugin); it checks its
result against this eager network and fails with the measured error when they disagree.

Outputs: the ONNX file or Hugging Face folder (:func:`cosmos_embed.export_inputs.export_output`), and
``<results_dir>/export/`` with the logs, the resolved ``experiment.yaml`` and ``export_report.json``.
ONNX graphs compute in fp32; Hugging Face weights are stored in ``model.precision``.
"""

from __future__ import annotations

import logging

import attrs
from cosmos_core.io import write_json_atomically
from cosmos_core.run import RunContext
from cosmos_embed.config import ExperimentConfig
from cosmos_embed.export_inputs import export_output
from cosmos_embed.export_source import STORAGE_DTYPES, Embed1ExportSource
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.loading import load_state_dict_into
from cosmos_embed.tasks.common import network_from_checkpoint

logger = logging.getLogger("cosmos.embed")


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    settings = config.export
    exporter = ctx.host.exporters.get(settings.mode)
    output = export_output(config)
    with ctx.open_run(config) as run:
        network, _ = network_from_checkpoint(settings.checkpoint, config.model, "export.checkpoint")
        source = Embed1ExportSource(
            without_transformer_engine(network),
            storage_dtype=STORAGE_DTYPES[config.model.precision],
            video_dtype=settings.video_dtype,
        )
        logger.info("exporting %s (mode %s) to %s", settings.checkpoint, settings.mode, output)
        report = exporter.export(source, settings, output)
        logger.info("%s", report.summary())
        record = {"checkpoint": settings.checkpoint, "mode": settings.mode, "output": str(output), **report.to_dict()}
        write_json_atomically(run.folder / "export_report.json", record)
    return 0


def without_transformer_engine(network: CosmosEmbed1) -> CosmosEmbed1:
    """The same network with PyTorch layers where Transformer Engine ones were built (exporters trace
    plain PyTorch; the state-dict keys are the same)."""
    if not any(type(module).__module__.startswith("transformer_engine") for module in network.modules()):
        return network
    encoder = attrs.evolve(network.config.visual_encoder, transformer_engine=False, use_fp8=False)
    plain = CosmosEmbed1(attrs.evolve(network.config, visual_encoder=encoder))
    state = {key: value for key, value in network.state_dict().items() if not key.endswith("_extra_state")}
    load_state_dict_into(plain, state, strict=True, source="the Transformer Engine network")
    return plain.eval()
