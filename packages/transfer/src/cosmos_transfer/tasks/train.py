"""``cosmos-run cosmos-transfer1 train -- experiment=NAME [overrides]``: post-train (or pretrain) a control branch.

The seed's ``torchrun --nproc_per_node=N -m cosmos_transfer1.diffusion.training.train --config=... --
experiment=NAME`` becomes ``torchrun --nproc_per_node=N -m cosmos_core.cli cosmos-transfer1 train --
experiment=NAME`` (``--dryrun`` writes and prints ``config.yaml`` and touches nothing else). The job
folder is ``${OUTPUT_ROOT:-checkpoints}/<project>/<group>/<name>/``; checkpoints go to its
``checkpoints/`` in the reference's names, and rerunning the same command resumes from
``latest_checkpoint.txt``.
"""

from __future__ import annotations

import logging

from cosmos_core.config.loader import unstructure
from cosmos_core.lifecycle import Run
from cosmos_core.run import RunContext
from cosmos_core.training import LoaderSettings, ShardedCheckpointer, Trainer, build_callbacks

from cosmos_transfer.data.collate import TransferBatches, collate_transfer
from cosmos_transfer.experiments.config import TransferExperiment
from cosmos_transfer.runtime import loop_settings
from cosmos_transfer.training.build import build_dataset, build_networks, build_training_module, run_seed
from cosmos_transfer.training.ema import PowerEMACallback
from cosmos_transfer.training.layout import LAYOUT
from cosmos_transfer.training.tokenizers import load_tokenizer
from cosmos_transfer.training.weights import materialiser

logger = logging.getLogger("cosmos.transfer")

FAMILY = "cosmos-transfer1"


def run(config: TransferExperiment, ctx: RunContext) -> int:
    with ctx.open_run(config) as run:
        _train(config, ctx, run)
    return 0


def _train(config: TransferExperiment, ctx: RunContext, run: Run) -> None:
    checkpointer = ShardedCheckpointer(run.folder / "checkpoints", LAYOUT)
    seed = run_seed(config, checkpointer)
    resuming = checkpointer.latest() is not None
    if resuming:
        logger.info("resuming the job from %s", checkpointer.latest())
    module = build_training_module(
        config,
        build_networks(config, meta=True),
        # A resumed job's checkpoint holds every weight: no need to read the released files first.
        materialise=materialiser(config, run.dist, load_weights=not resuming),
    )
    module.attach_tokenizer(
        load_tokenizer(config.model.tokenizer.path, run.dist.device, bf16=config.model.precision == "bfloat16")
    )
    loader = config.dataloader_train
    callbacks = build_callbacks(config.trainer.callbacks, ctx.host.callbacks, config_path="trainer.callbacks")
    if config.model.ema.enabled:
        callbacks.append(PowerEMACallback(config.model.ema.rate, config.model.ema.num))
    resume_from = config.checkpoint.load_path if config.checkpoint.load_training_state and not resuming else None
    trainer = Trainer(
        module=module,
        settings=loop_settings(config, seed, resume_from=resume_from),
        dist=run.dist,
        train_dataset=build_dataset(config, ctx.host.registries["control_modalities"], seed),
        train_loader=LoaderSettings(
            batch_size=loader.batch_size,
            workers=loader.num_workers,
            prefetch_factor=loader.prefetch_factor,
            pin_memory=loader.pin_memory,
        ),
        collate_fn=collate_transfer,
        batch_format=TransferBatches(),
        checkpointer=checkpointer,
        output_dir=run.folder,
        checkpoint_metadata={
            "family": FAMILY,
            "experiment": config.job.name,
            "seed": seed,
            "model": unstructure(config.model),
        },
        callbacks=callbacks,
    )
    result = trainer.fit()
    run.summary(
        f"training done at iteration {result.iteration}: checkpoint {result.checkpoint}; config.yaml and logs in "
        f"{run.folder}"
    )
