"""cosmos-transfer's plugin: the ``cosmos-transfer1`` family's actions and the control modalities.

Registering imports no torch and no model code: actions are ``"module:function"`` strings and each
modality module imports its heavy libraries (OpenCV, pycocotools, PyAV) only when it computes.
"""

from __future__ import annotations

import importlib

from cosmos_core.family import Action, ModelFamily
from cosmos_core.hookspecs import hookimpl

FAMILY = "cosmos-transfer1"

ACTIONS = {
    "train": Action(
        target="cosmos_transfer.tasks.train:run",
        help="post-train (or pretrain) a control branch: -- experiment=NAME [overrides]; reruns resume",
    ),
    "generate": Action(
        target="cosmos_transfer.tasks.generate:run",
        help="sample a video from a control input and a caption with a trained model (-- experiment=NAME ...)",
    ),
    "summary": Action(
        target="cosmos_transfer.tasks.summary:run",
        help="parameter counts of an experiment's networks, per tensor-parallel rank (no weights allocated)",
    ),
    "train_tokenizer": Action(
        target="cosmos_transfer.tasks.train_tokenizer:run",
        arguments="cosmos_transfer.tasks.train_tokenizer:add_arguments",
        help="train the small video autoencoder of the tiny experiments on a dataset's clips",
    ),
    "prepare_data": Action(
        target="cosmos_transfer.tasks.prepare_data:run",
        arguments="cosmos_transfer.tasks.prepare_data:add_arguments",
        help="videos/, metas/ from an HD-VILA-100M-style JSONL (local, http(s) or YouTube URLs) or a video folder",
    ),
    "t5_embeddings": Action(
        target="cosmos_transfer.tasks.t5_embeddings:run",
        arguments="cosmos_transfer.tasks.t5_embeddings:add_arguments",
        help="t5_xxl/<clip>.pickle: T5 encoder embeddings of every caption in metas/",
    ),
    "control_inputs": Action(
        target="cosmos_transfer.tasks.control_inputs:run",
        arguments="cosmos_transfer.tasks.control_inputs:add_arguments",
        help="depth/, seg/ or keypoint/ files of every clip (Depth-Anything-V2, Grounding-DINO + SAM 2, ViTPose+)",
    ),
    "convert_tp": Action(
        target="cosmos_transfer.tasks.convert_tp:run",
        arguments="cosmos_transfer.tasks.convert_tp:add_arguments",
        help="split a consolidated checkpoint into tensor-parallel shards (checkpoints_tp/<name>_model_mp_<k>.pt)",
    ),
    "merge_tp": Action(
        target="cosmos_transfer.tasks.merge_tp:run",
        arguments="cosmos_transfer.tasks.merge_tp:add_arguments",
        help="join tensor-parallel shards into fsdp_checkpoints/<stem>_reg_model.pt and _ema_model_only.pt, on CPU",
    ),
}


@hookimpl
def cosmos_register_tasks(registry):
    registry.add(
        FAMILY,
        ModelFamily(
            name=FAMILY,
            actions=ACTIONS,
            config_class=_config_class(),
            description="Cosmos-Transfer1 world generation with control inputs: data preparation, post-training",
            validator="cosmos_transfer.experiments.validation:validate_experiment",
            runtime="cosmos_transfer.runtime:RUNTIME",
            experiments="cosmos_transfer.experiments.catalog:EXPERIMENTS",
        ),
        help="Cosmos-Transfer1 world generation with control inputs (data, training, generation)",
    )


def _config_class() -> type:
    from cosmos_transfer.experiments.config import TransferExperiment

    return TransferExperiment


@hookimpl
def cosmos_register_control_modalities(registry):
    from cosmos_transfer.modalities import MODULES

    for module_name in MODULES:
        modality = importlib.import_module(f"cosmos_transfer.modalities.{module_name}").MODALITY
        registry.add(modality.name, modality, help=modality.help)
