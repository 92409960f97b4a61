"""``cosmos-run cosmos-transfer1 generate -- experiment=NAME generate.input_video=... generate.prompt=...``.

Samples one clip with a trained model of the experiment (its job's latest checkpoint unless
``generate.checkpoint`` names one; the EMA weights when present and ``generate.use_ema``) from the
control input of ``generate.input_video`` (computed like in training, or read from
``generate.control_path`` for file-based controls) and a caption (``generate.prompt`` with a local T5,
or ``generate.t5_pickle``). Writes ``<job>/generate/<name>.mp4`` (or ``generate.output``) and beside it
``<name>_control.mp4``, the control input the model saw.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cosmos_core.run import RunContext

from cosmos_transfer.data.video_io import Mp4Writer
from cosmos_transfer.experiments.config import TransferExperiment

logger = logging.getLogger("cosmos.transfer")


def run(config: TransferExperiment, ctx: RunContext) -> int:
    from cosmos_transfer.data.dataset import modality_for_hint_key
    from cosmos_transfer.generation import (
        control_frames,
        decode_frames,
        generate_latent,
        load_trained,
        prepare_input_clip,
        text_embedding,
    )
    from cosmos_transfer.training.build import build_networks, build_training_module
    from cosmos_transfer.training.tokenizers import load_tokenizer

    settings = config.generate
    with ctx.open_run(config) as run:
        device = run.dist.device
        networks = build_networks(config, meta=False)
        loaded = load_trained(config, networks, run.dist)
        logger.info("generating with %s", loaded)
        module = build_training_module(config, networks.to(device), inference=True).eval()
        module.attach_tokenizer(
            load_tokenizer(config.model.tokenizer.path, device, bf16=config.model.precision == "bfloat16")
        )
        modality = modality_for_hint_key(config.model.hint_key, ctx.host.registries["control_modalities"])
        batch = prepare_input_clip(config, modality, run.folder / "inputs", text_embedding(config, device))
        batch = {key: value.to(device) if hasattr(value, "to") else value for key, value in batch.items()}
        latent = generate_latent(
            module,
            batch,
            control_weight=settings.control_weight,
            guidance=settings.guidance,
            num_steps=settings.num_steps,
            seed=settings.seed,
        )
        output = Path(settings.output) if settings.output else run.folder / f"{config.job.name}.mp4"
        fps = float(batch["fps"][0])
        for path, frames in (
            (output, decode_frames(module, latent, batch)),
            (output.with_name(output.stem + "_control.mp4"), control_frames(batch, config.model.hint_key)),
        ):
            with Mp4Writer(path, fps) as writer:
                for frame in frames:
                    writer.write(frame)
        run.summary(f"wrote {output} ({len(frames)} frames) and its control input beside it")
    return 0
