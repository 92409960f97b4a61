"""``cosmos-run cosmos-embed1 train``: fine-tune Cosmos-Embed1 with the generic loop."""

from __future__ import annotations

import logging
from typing import Any

import attrs
from cosmos_core.config.loader import redacted
from cosmos_core.distributed import gather_objects
from cosmos_core.lifecycle import Run
from cosmos_core.run import RunContext
from cosmos_core.training import Callback, LoaderSettings, Trainer, build_callbacks
from cosmos_core.training.loop import default_validate
from cosmos_core.training.rng import seed_everything
from cosmos_datasets.collate import SampleBatches
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.skips import SkipLog
from cosmos_embed.callbacks import DampSchedule
from cosmos_embed.config import CHECKPOINT_PREFIX, ExperimentConfig
from cosmos_embed.ema import EMAWeights
from cosmos_embed.model.lora import apply_lora
from cosmos_embed.resume import Embed1Checkpointer
from cosmos_embed.runtime import loop_settings
from cosmos_embed.tasks.common import (
    build_dataset,
    checkpoint_metadata,
    collate_with,
    network_from_checkpoint,
    report_skips,
)
from cosmos_embed.text.tokenizer import TextTokenizer, build_tokenizer
from cosmos_embed.training_module import Embed1TrainingModule
from cosmos_embed.validation import has_validation_data
from cosmos_embed.validation_eval import ValidationData

logger = logging.getLogger("cosmos.embed")


def loader_settings(cfg: SingleDatasetConfig) -> LoaderSettings:
    return LoaderSettings(
        batch_size=cfg.batch_size,
        workers=cfg.workers,
        drop_last=cfg.drop_last,
        prefetch_factor=cfg.prefetch_factor,
        pin_memory=cfg.pin_memory,
    )


def run(config: ExperimentConfig, ctx: RunContext) -> int:
    with ctx.open_run(config) as run:
        _train(config, ctx, run)
    return 0


def build_training_module(config: ExperimentConfig, ctx: RunContext) -> tuple[Embed1TrainingModule, TextTokenizer]:
    """The network (from scratch or ``model.pretrained_model_path``, LoRA added) inside the objective."""
    model_cfg = config.model
    tokenizer = build_tokenizer(model_cfg.network)  # a missing vocabulary fails before the model is built
    seed_everything(config.train.seed)  # the same initial weights for the same seed, on every rank
    if model_cfg.pretrained_model_path:
        network, _ = network_from_checkpoint(
            model_cfg.pretrained_model_path, model_cfg, "model.pretrained_model_path", sections=("network",)
        )
        logger.info("initialised from %s", model_cfg.pretrained_model_path)
    else:
        from cosmos_embed.model.loading import build_model

        network = build_model(model_cfg.network)
        logger.info("initialised from scratch (no model.pretrained_model_path)")
    if model_cfg.lora.enabled:
        apply_lora(network, model_cfg.lora)
    contrastive = ctx.host.registries["losses"].get(network.config.contrastive_type)
    module = Embed1TrainingModule(
        network,
        config.train,
        tokenizer.dec_token_id,
        tokenizer.pad_token_id,
        contrastive,
        fsdp=model_cfg.fsdp.enabled,
    )
    if module.transformed_linears:
        what = " and ".join(
            name
            for name, on in (("sigma-Reparam", config.train.spectral_reparam), ("DAMP", config.train.damp.enabled))
            if on
        )
        logger.info("%s on %d trainable linear layers", what, len(module.transformed_linears))
    return module, tokenizer


class EMAValidation:
    """The loop's validation (the module's losses) with the EMA weights swapped in for each batch."""

    def __init__(self, ema: EMAWeights) -> None:
        self.ema = ema

    def __call__(self, module: Any, batch: Any) -> dict[str, float]:
        with self.ema.applied():
            return default_validate(module, batch)


def _train(config: ExperimentConfig, ctx: RunContext, run: Run) -> None:
    module, tokenizer = build_training_module(config, ctx)
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    logger.info("parameters: %s total, %s trainable", f"{total:,}", f"{trainable:,}")

    skips = SkipLog()
    data = config.dataset
    train_set = build_dataset(ctx, data.train_dataset, True, skips, "dataset.train_dataset")
    val_set = (
        build_dataset(ctx, data.val_dataset, False, skips, "dataset.val_dataset")
        if has_validation_data(config)
        else None
    )
    if val_set is None:
        logger.info(
            "no validation set configured (dataset.val_dataset.metadata is not set): training without "
            "validation; set dataset.val_dataset.metadata and data_root to validate every "
            "train.validation_iter iterations"
        )
    ema = EMAWeights(config.train.ema.decay) if config.train.ema.enabled else None
    evaluated_ema = ema if config.model.use_ema_weights else None
    checkpointer = Embed1Checkpointer(
        run.folder,
        CHECKPOINT_PREFIX,
        load_training_state=config.train.load_training_state,
        strict=config.train.strict_resume,
    )
    trainer = Trainer(
        module=module,
        settings=loop_settings(config.train),
        dist=run.dist,
        train_dataset=train_set,
        train_loader=loader_settings(data.train_dataset),
        val_dataset=val_set,
        val_loader=loader_settings(data.val_dataset) if val_set is not None else None,
        collate_fn=collate_with(tokenizer),
        batch_format=SampleBatches(),
        checkpointer=checkpointer,
        output_dir=run.folder,
        checkpoint_metadata=checkpoint_metadata(config),
        callbacks=_callbacks(
            config,
            ctx,
            module,
            ema,
            ValidationData(val_set, data.val_dataset, tokenizer, config.train.precision, evaluated_ema),
        ),
        validate_fn=EMAValidation(evaluated_ema) if evaluated_ema is not None else None,
    )
    checkpointer.trainer = trainer
    result = trainer.fit()
    for rank_skips in gather_objects(trainer.skipped):  # every rank skipped its own share
        skips.add(rank_skips)
    if run.is_main:
        report_skips(skips, run.folder)
    run.summary(
        f"training done at iteration {result.iteration}: checkpoint {result.checkpoint} "
        f"(latest: {result.latest}), logs and experiment.yaml in {run.folder}"
    )


def _callbacks(
    config: ExperimentConfig,
    ctx: RunContext,
    module: Embed1TrainingModule,
    ema: EMAWeights | None,
    validation: ValidationData,
) -> list[Callback]:
    """``train.callbacks`` with what the train task supplies (W&B settings, EMA weights, validation data),
    after the DAMP schedule when ``train.damp.mode`` is dynamic (it sets the noise before every step)."""
    defaults = {
        "wandb": {**attrs.asdict(config.wandb), "config": redacted(config)},
        "ema": {"weights": ema},
        "validation_eval": {"data": validation},
    }
    callbacks = build_callbacks(config.train.callbacks, ctx.host.callbacks, defaults=defaults)
    damp = config.train.damp
    if module.damp_noise is not None and damp.mode == "dynamic":
        callbacks.insert(0, DampSchedule(module.damp_noise, damp.beta))
    return callbacks
