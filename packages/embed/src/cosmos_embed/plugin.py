"""cosmos-embed's plugin: the ``cosmos-embed1`` family and its callbacks. Imports nothing heavy."""

from __future__ import annotations

from cosmos_core.family import Action, ModelFamily
from cosmos_core.hookspecs import hookimpl
from cosmos_core.registry import CallbackRegistry, LossRegistry, TaskRegistry

ACTIONS = {
    "train": Action("cosmos_embed.tasks.train:run", "fine-tune Cosmos-Embed1 (checkpoints in <results_dir>/train/)"),
    "evaluate": Action(
        "cosmos_embed.tasks.evaluate:run", "top-K hit rates and MRR of a checkpoint on dataset.test_dataset"
    ),
    "inference": Action(
        "cosmos_embed.tasks.inference:run",
        "text-to-video and video-to-video search over dataset.inference_dataset",
    ),
    "summary": Action("cosmos_embed.tasks.summary:run", "parameter counts of the configured network (no weights)"),
    "export": Action("cosmos_embed.tasks.export:run", "export a checkpoint to ONNX or the Hugging Face layout"),
    "index": Action(
        "cosmos_embed.tasks.index:run",
        "embed dataset.inference_dataset into a LanceDB clip index at index.uri (incremental; index.engine=ray)",
        validator="cosmos_embed.curation.checks:validate_index",
    ),
    "dedup": Action(
        "cosmos_embed.tasks.dedup:run",
        "semantic deduplication of an index (k-means + in-cluster cosine, SemDeDup): keep/remove lists",
        validator="cosmos_embed.curation.checks:validate_dedup",
    ),
    "filter": Action(
        "cosmos_embed.tasks.filter:run",
        "keep the clips of an index that match filter.positive_texts and not filter.negative_texts (VAD-R1 JSONL)",
        validator="cosmos_embed.curation.checks:validate_filter",
    ),
}


@hookimpl
def cosmos_register_tasks(registry: TaskRegistry) -> None:
    from cosmos_embed.config import FAMILY, ExperimentConfig

    registry.add(
        FAMILY,
        ModelFamily(
            name=FAMILY,
            config_class=ExperimentConfig,
            actions=ACTIONS,
            specs_package="cosmos_embed",
            spec_required=True,
            description="Cosmos-Embed1 video-text embeddings (NVIDIA TAO's cosmos-embed1 commands and specs)",
            validator="cosmos_embed.validation:validate_experiment",
            runtime="cosmos_embed.runtime:RUNTIME",
        ),
        help="Cosmos-Embed1 video-text embedding model (train, evaluate, inference, export, summary)",
    )


@hookimpl
def cosmos_register_callbacks(registry: CallbackRegistry) -> None:
    def clamp_logit_scale(**params):
        from cosmos_embed.callbacks import ClampLogitScale

        return ClampLogitScale(**params)

    def logit_parameters_monitor(**params):
        from cosmos_embed.callbacks import LogitParametersMonitor

        return LogitParametersMonitor(**params)

    def ema(weights=None, **unknown):
        if unknown:
            raise TypeError(
                f"takes no parameters (got {', '.join(sorted(unknown))}); set train.ema.enabled and train.ema.decay"
            )
        from cosmos_core.training.callbacks import Callback

        from cosmos_embed.callbacks import EMAUpdate

        return EMAUpdate(weights) if weights is not None else Callback()  # inert without train.ema.enabled

    def spectral_norm_monitor(**params):
        from cosmos_embed.callbacks import SpectralNormMonitor

        return SpectralNormMonitor(**params)

    def text_frames_visualizer(**params):
        from cosmos_embed.visualizers import TextFramesVisualizer

        return TextFramesVisualizer(**params)

    def pca_feature_map_visualizer(**params):
        from cosmos_embed.visualizers import PCAFeatureMapVisualizer

        return PCAFeatureMapVisualizer(**params)

    def validation_eval(**params):
        from cosmos_embed.validation_eval import ValidationEval

        return ValidationEval(**params)

    registry.add("clamp_logit_scale", clamp_logit_scale, help="clamp the logit scale to [0, ln 100]")
    registry.add("logit_parameters_monitor", logit_parameters_monitor, help="log logit scale and bias")
    registry.add("ema", ema, help="update the EMA shadow weights every step (with train.ema.enabled)")
    registry.add(
        "spectral_norm_monitor", spectral_norm_monitor, help="log spectral norms of the trainable weight matrices"
    )
    registry.add(
        "text_frames_visualizer",
        text_frames_visualizer,
        help="PNG contact sheet of training frames and captions (train/visuals/, and W&B)",
    )
    registry.add(
        "pca_feature_map_visualizer",
        pca_feature_map_visualizer,
        help="PNG of the visual encoder's patch features as RGB by PCA (train/visuals/, and W&B)",
    )
    registry.add(
        "validation_eval", validation_eval, help="top-K hit rates and MRR on the validation set at each validation"
    )


@hookimpl
def cosmos_register_losses(registry: LossRegistry) -> None:
    """Contrastive losses, chosen by ``model.network.contrastive_type`` and called by the training
    module as ``loss(video_emb, text_emb, logit_scale, logit_bias, gather=None)``."""

    def clip(*args, **kwargs):
        from cosmos_embed.losses import contrastive_loss

        return contrastive_loss("clip", *args, **kwargs)

    def siglip(*args, **kwargs):
        from cosmos_embed.losses import contrastive_loss

        return contrastive_loss("siglip", *args, **kwargs)

    registry.add("clip", clip, help="symmetric InfoNCE over video-text pairs (model.network.contrastive_type)")
    registry.add("siglip", siglip, help="pairwise sigmoid loss with learnable bias (model.network.contrastive_type)")
