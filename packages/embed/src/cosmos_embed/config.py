"""The Cosmos-Embed1 experiment schema (``ExperimentConfig``), as in NVIDIA TAO's documentation.

Field names and defaults follow the seed tables so existing specs and overrides keep working. This
module imports no torch: the launcher structures and validates a spec before anything heavy loads.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
from cosmos_core.config import option
from cosmos_datasets.config import SingleDatasetConfig

from cosmos_embed.model.config import LoRAConfig, NetworkConfig

FAMILY = "cosmos-embed1"
CHECKPOINT_PREFIX = "cosmos_embed1_model"

Precision = Literal["bf16", "fp16", "fp32"]
OptimizerType = Literal["adamw", "fused_adamw", "adam", "sgd"]
LRPolicy = Literal["cosine", "linear", "constant"]


@attrs.frozen
class WandbConfig:
    enable: bool = option(False, help="Enable Weights and Biases logging.")
    project: str = option("cosmos_embed1", help="Weights and Biases project name.")
    group: str = option("", help="Run group for organizing related runs in the dashboard.")
    name: str = option("", help="Run name. Empty string auto-generates a name.")
    tags: list[str] = option(help="List of tags for filtering runs in the dashboard.", factory=list)
    save_code: bool = option(False, help="Save a copy of the training code to Weights and Biases.")
    api_key: str = option("", help="API key. If empty, falls back to the WANDB_API_KEY env var.", secret=True)


@attrs.frozen
class OptimConfig:
    optim: OptimizerType = option("adamw", help="Optimizer type: adamw, fused_adamw, adam or sgd.")
    lr: float = option(1e-5, help="Learning rate.")
    weight_decay: float = option(1e-5, help="Weight decay coefficient.")
    betas: list[float] = option(help="Adam and AdamW beta coefficients.", factory=lambda: [0.9, 0.98])
    warmup_steps: int = option(1000, help="Number of warmup steps for the learning rate scheduler.")
    policy: LRPolicy = option("cosine", help="Learning rate schedule policy: cosine, linear or constant.")
    lr_decay_iters: int = option(
        50000, help="Number of iterations over which to decay the learning rate (cosine and linear)."
    )


@attrs.frozen
class FSDPConfig:
    enabled: bool = option(
        False,
        help="Enable Fully Sharded Data Parallel (FSDP2 fully_shard per ViT block, Q-Former layer and the rest) "
        "instead of DDP. One process has nothing to shard and trains as without it.",
    )
    shard_size: int | None = option(
        None,
        help="FSDP shard group size: parameters are sharded over this many ranks. None: the processes of one "
        "node (torchrun's LOCAL_WORLD_SIZE).",
    )
    replica_size: int | None = option(
        None,
        help="FSDP replica group size: shard groups that each hold a full copy (HSDP when > 1). None: the world "
        "size divided by shard_size.",
    )


@attrs.frozen
class ModelConfig:
    network: NetworkConfig = option(help="Network architecture configuration.", factory=NetworkConfig)
    pretrained_model_path: str | None = option(
        None,
        help="Pretrained weights: a local .pth/.safetensors file, a local Hugging Face-layout directory, "
        "or a Hugging Face repo id found in the local cache.",
    )
    pretrained_model_strict: bool = option(True, help="Strict state_dict matching when loading pretrained weights.")
    precision: Precision = option("bf16", help="Precision for evaluation and inference: bf16, fp16 or fp32.")
    compile: bool = option(
        False,
        help="Encode videos in evaluate and inference through torch.compile (inductor): one graph at the "
        "dataset's batch_size, the last batch padded to it; the first batch pays the compile time (tens of "
        "seconds). Falls back to eager, with a warning, where inductor cannot run. "
        "COSMOS_EMBED_COMPILE_MODE=reduce-overhead adds CUDA graphs on GPUs (our extension).",
    )
    input_hw: list[int] = option(
        help="Data-loader input resolution [H, W] (TAO). Accepted for spec compatibility: in cosmos-run each "
        "dataset's `resolution` decides the loaded frame size, and evaluation follows the checkpoint's network.",
        factory=lambda: [224, 224],
    )
    fsdp: FSDPConfig = option(
        help="Fully Sharded Data Parallel configuration (training): FSDP2 on the device mesh, HSDP when both "
        "model.fsdp.shard_size and model.fsdp.replica_size are set.",
        factory=FSDPConfig,
    )
    fsdp_shard_size: int = option(
        8, help="Legacy FSDP shard size of TAO's model loader; accepted for spec compatibility, unused here."
    )
    lora: LoRAConfig = option(
        help="LoRA configuration. When enabled, wraps the network with PEFT adapters. "
        "Requires model.network.visual_encoder.transformer_engine=false.",
        factory=LoRAConfig,
    )
    use_ema_weights: bool = option(
        True,
        help="When a checkpoint holds EMA shadow weights (trained with train.ema.enabled), validation during "
        "training, evaluate, inference, export and model.pretrained_model_path use them; false uses the raw "
        "trained weights (our extension).",
    )


@attrs.frozen
class DatasetConfig:
    train_dataset: SingleDatasetConfig = option(help="Training dataset.", factory=SingleDatasetConfig)
    val_dataset: SingleDatasetConfig = option(
        help="Validation dataset (used during training validation).", factory=SingleDatasetConfig
    )
    test_dataset: SingleDatasetConfig = option(
        help="Test dataset (used by the evaluate action).", factory=SingleDatasetConfig
    )
    inference_dataset: SingleDatasetConfig = option(
        help="Search database (used by the inference action).", factory=SingleDatasetConfig
    )


@attrs.frozen
class LossWeightsConfig:
    contrastive_loss: float = option(1.0, help="Weight for the contrastive loss term.")
    captioning_loss: float = option(1.0, help="Weight for the captioning loss term.")
    matching_loss: float = option(1.0, help="Weight for the text matching loss term.")


@attrs.frozen
class EMAConfig:
    enabled: bool = option(
        False,
        help="Enable Exponential Moving Average weight tracking: shadow copies of the trainable parameters, "
        "updated by the `ema` callback after every optimizer step (it must be in train.callbacks; it does "
        "nothing while this is false) and saved in checkpoints; see model.use_ema_weights.",
    )
    decay: float = option(
        0.9999, help="EMA decay rate d in [0, 1): shadow <- d * shadow + (1 - d) * parameter after every step."
    )


@attrs.frozen
class DAMPConfig:
    enabled: bool = option(
        False,
        help="Enable DAMP, Data Augmentation via Multiplicative Perturbations (Trinh et al., NeurIPS 2024): every "
        "training forward uses the trainable linear weights multiplied element-wise by fresh Gaussian noise "
        "N(1, sigma^2); evaluation uses the weights as they are.",
    )
    beta: float = option(0.1, help="DAMP noise standard deviation sigma (the peak value in dynamic mode).")
    mode: Literal["const", "dynamic"] = option(
        "const",
        help="DAMP schedule: const keeps sigma = beta; dynamic scales it with the learning-rate schedule, "
        "sigma = beta * lr / train.optim.lr (zero at the start of warm-up, beta at the peak, decaying with "
        "the schedule).",
    )


def embed_default_callbacks() -> dict[str, Any]:
    """The seed's default callback set (``validation_eval`` is opt-in, as in the seed)."""
    return {
        "wandb": {},
        "iter_speed": {"every_n": 50, "save_s3": False},
        "gradient_clip": {"clip_norm": 3.0},
        "grad_norm_monitor": {"every_n": 500, "verbose": False},
        "log_losses": {"every_n": 50, "verbose": True},
        "clamp_logit_scale": {},
        "logit_parameters_monitor": {},
        "spectral_norm_monitor": {"every_n": 1000, "verbose": True},
        "ema": {},
        "text_frames_visualizer": {"every_n": 500},
        "pca_feature_map_visualizer": {"every_n": 500},
    }


@attrs.frozen
class Embed1TrainConfig:
    optim: OptimConfig = option(help="Optimizer configuration.", factory=OptimConfig)
    seed: int = option(1234, help="Random seed for reproducibility.")
    max_iter: int = option(50000, help="Maximum number of training iterations.")
    num_nodes: int = option(1, help="Number of nodes for distributed training.")
    num_gpus: int = option(1, help="Number of GPUs per node. Use -1 to auto-detect all available GPUs, 0 for CPU only.")
    gpu_ids: list[int] = option(
        help="List of GPU device IDs to use. Overrides num_gpus for device selection.",
        factory=lambda: [0],
    )
    validation_iter: int = option(1000, help="Frequency of validation runs, in iterations.")
    checkpoint_iter: int = option(1000, help="Frequency of checkpoint saves, in iterations.")
    clip_grad_norm: float = option(0.0, help="Gradient clipping norm. Set to 0.0 to disable gradient clipping.")
    precision: Precision = option("bf16", help="Training precision: bf16, fp16 or fp32.")
    resume_training_checkpoint_path: str | None = option(
        None,
        help="Path to a checkpoint to resume training from: the weights, iteration, data position, RNG and "
        "callback state (EMA) are restored. A checkpoint in this run's own folder (<results_dir>/train/, a "
        "stopped run continuing) also restores optimizer and scheduler state, so the run continues exactly; "
        "for one from elsewhere train.load_training_state decides.",
    )
    max_val_batches: int | None = option(
        None, help="Maximum number of validation batches per GPU. None runs the full validation set."
    )
    grad_accum_steps: int = option(
        1, help="Micro-batches accumulated per optimizer step (our extension; 1 = no accumulation)."
    )
    callbacks: dict[str, Any] = option(
        help="Dict mapping callback name to parameter overrides. Remove a key to disable a callback.",
        factory=embed_default_callbacks,
    )
    freeze_visual_encoder: bool = option(True, help="Freeze the visual encoder weights during training.")
    use_captioning_loss: bool = option(True, help="Enable the captioning loss during training.")
    use_text_matching_loss: bool = option(False, help="Enable the text matching loss during training.")
    loss_weights: LossWeightsConfig = option(help="Per-loss weights.", factory=LossWeightsConfig)
    ema: EMAConfig = option(help="Exponential Moving Average configuration.", factory=EMAConfig)
    spectral_reparam: bool = option(
        False,
        help="Enable spectral reparameterization, sigma-Reparam (Zhai et al., ICML 2023): every trainable linear "
        "weight W is used as gamma / sigma(W) * W with a learned scalar gamma (initialised to sigma(W), so the "
        "network starts unchanged) and sigma(W) estimated by one power iteration per training step. "
        "Checkpoints fold it back into plain weights wherever they are read (evaluate, inference, export).",
    )
    damp: DAMPConfig = option(help="DAMP training technique configuration.", factory=DAMPConfig)
    load_training_state: bool = option(
        False,
        help="Restore optimizer and scheduler state when resuming from a checkpoint of another run folder "
        "(train.resume_training_checkpoint_path); false starts them fresh (the learning-rate schedule starts "
        "over) while the weights and the iteration count continue. Resuming this run's own checkpoints "
        "always restores them.",
    )
    strict_resume: bool = option(
        False,
        help="Strict state_dict matching when resuming from a checkpoint: true makes missing or unexpected "
        "weights an error; false keeps the current values of missing ones and ignores unexpected ones, with "
        "one warning naming them (the optimizer state is then started fresh, as it no longer lines up).",
    )


@attrs.frozen
class ValidationEvalConfig:
    topk_classification: bool = option(True, help="Enable top-K hit rate classification metrics.")
    embedding_visualization: bool = option(False, help="Enable UMAP embedding visualization.")
    top_k_values: list[int] = option(
        help="List of K values for top-K hit rate computation.", factory=lambda: [1, 3, 5, 10]
    )
    max_eval_samples: int = option(2000, help="Maximum number of samples to use during evaluation.")


@attrs.frozen
class EvaluateConfig:
    checkpoint: str | None = option(None, help="Path to the model checkpoint for evaluation.")
    max_batches: int = option(-1, help="Maximum number of batches to run. -1 runs all batches.")
    num_gpus: int = option(1, help="Number of GPUs for evaluation.")
    callbacks: ValidationEvalConfig = option(help="Evaluation metrics configuration.", factory=ValidationEvalConfig)
    load_dataset_pkl: str | None = option(
        None, help="Load pre-computed embeddings from this cache; when it exists, model inference is skipped."
    )
    save_dataset_pkl: str | None = option(None, help="Save the computed embeddings to this cache.")


@attrs.frozen
class QueryConfig:
    input_videos: list[str] = option(help="Video file paths to use as queries.", factory=list)
    input_texts: list[str] = option(help="Text strings to use as queries.", factory=list)


@attrs.frozen
class InferenceConfig:
    checkpoint: str | None = option(None, help="Path to the model checkpoint for inference.")
    query: QueryConfig = option(help="Query inputs (text and/or video).", factory=QueryConfig)
    num_gpus: int = option(1, help="Number of GPUs for inference.")
    k: int = option(5, help="Number of nearest-neighbor results to return per query.")
    load_dataset_pkl: str | None = option(
        None,
        help="Load the search database embeddings from this cache; when it exists, the corpus is not re-encoded.",
    )
    save_dataset_pkl: str | None = option(None, help="Save the search database embeddings to this cache.")
    index: str | None = option(
        None,
        help="Search this cosmos-run index (a LanceDB URI written by 'cosmos-run cosmos-embed1 index') instead "
        "of encoding dataset.inference_dataset; also writes a contact sheet PNG of the top-K clips per query.",
    )
    index_filter: str | None = option(
        None, help="SQL filter on the index's metadata columns for inference.index searches, e.g. \"split = 'test'\"."
    )


@attrs.frozen
class ExportConfig:
    checkpoint: str | None = option(None, help="Path to the model checkpoint for export.")
    onnx_file: str | None = option(
        None, help="Output ONNX file path. If None, derived from the checkpoint path and mode."
    )
    mode: Literal["video", "text", "combined", "huggingface"] = option(
        "video", help="Export mode: video, text, combined or huggingface."
    )
    opset_version: int = option(17, help="ONNX opset version.")
    batch_size: int = option(1, help="Batch size for export. Set to -1 for a dynamic batch dimension.")
    on_cpu: bool = option(False, help="Run export on CPU instead of GPU.")
    verbose: bool = option(False, help="Print verbose ONNX export information.")
    simplify: bool = option(False, help="Apply onnxsim simplification after export.")
    hf_output_dir: str | None = option(
        None, help="Output directory for Hugging Face export. If None, derived from the checkpoint path."
    )
    video_dtype: Literal["float32", "uint8"] = option(
        "float32",
        help="Element type of the ONNX graph's videos input (our extension): float32 RGB in [0, 1] like the "
        "published processor's output, or uint8 0..255 frames straight from a decoder (scaled inside the graph).",
    )


AnnType = Literal["auto", "ivf_pq", "ivf_flat", "hnsw", "none"]


@attrs.frozen
class IndexConfig:
    uri: str | None = option(
        None,
        help="Where the index lives: a local folder (created when missing) or an object-store URI of LanceDB "
        "(s3://bucket/path, gs://, az://). Written by 'index'; read by 'inference.index', 'dedup' and 'filter'.",
    )
    table: str = option("clips", help="Name of the clip table inside the index.")
    engine: Literal["local", "ray"] = option(
        "local", help="local: embed in this process; ray: a Ray Data pipeline (decode tasks, embedding actors)."
    )
    prune: bool = option(False, help="Remove the rows of clips that are no longer in dataset.inference_dataset.")
    write_every: int = option(
        1024, help="Clips embedded between two writes to the table; a killed build loses at most this many."
    )
    ann: AnnType = option(
        "auto",
        help="Approximate nearest-neighbour index: auto (IVF_FLAT with about sqrt(rows) partitions once the "
        "table has index.ann_min_rows rows, exact search below: exact scores inside the index.nprobes probed "
        "partitions, recall@10 1.0 at 50-100x the speed of exact search on 1M x 256 clustered embeddings, "
        "disk about twice the raw vectors), ivf_pq (IVF-PQ, dim/8 sub-vectors, re-ranked with "
        "index.refine_factor: smaller and slower to build, recall@10 only 0.65-0.90 there at refine_factor "
        "10-50), ivf_flat, hnsw (HNSW-SQ), or none (always exact). A rerun adds its new rows to the existing "
        "index and retrains it when this kind or index.num_partitions/num_sub_vectors changed or the table grew "
        "4x since it was trained (auto keeps the kind it built).",
    )
    ann_min_rows: int = option(50000, help="Rows a table needs before index.ann=auto builds an ANN index.")
    num_partitions: int | None = option(None, help="IVF partitions of the ANN index. None: about sqrt(rows).")
    num_sub_vectors: int | None = option(None, help="PQ sub-vectors of an IVF-PQ index. None: embedding dim / 8.")
    nprobes: int = option(
        32, help="IVF partitions searched per query when the table has an ANN index (more: higher recall, slower)."
    )
    refine_factor: int = option(
        10,
        help="IVF-PQ and HNSW-SQ searches fetch refine_factor x K candidates and re-rank them with exact scores "
        "(unused by ivf_flat, whose scores are exact; 1 turns re-ranking off).",
    )


@attrs.frozen
class RayConfig:
    address: str | None = option(
        None, help="Ray cluster for index.engine=ray ('auto', 'ray://head:10001'). None: start a local Ray."
    )
    num_cpus: int | None = option(None, help="CPUs of a local Ray (None: every core). Ignored with ray.address.")
    num_actors: int = option(1, help="Embedding actors (one model each) in the pool.")
    cpus_per_actor: float = option(1.0, help="CPUs reserved per embedding actor (the decode tasks use the rest).")
    gpus_per_actor: float = option(1.0, help="GPUs per embedding actor when the cluster has GPUs.")
    cpus_per_decode_task: float = option(1.0, help="CPUs reserved per decode task.")


@attrs.frozen
class DedupConfig:
    eps: float = option(
        0.07,
        help="Two clips are duplicates when their cosine similarity exceeds 1 - eps (SemDeDup's epsilon).",
    )
    eps_table: list[float] = option(
        help="Thresholds for the table of how many clips each eps would remove (dedup/thresholds.json).",
        factory=lambda: [0.01, 0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3],
    )
    num_clusters: int | None = option(
        None, help="k-means clusters; pairs are compared only within a cluster. None: about sqrt(clips)."
    )
    kmeans_iterations: int = option(20, help="k-means iterations.")
    seed: int = option(1234, help="Seed of the k-means initialisation.")
    keep: Literal["hard", "easy", "first"] = option(
        "hard",
        help="Which clip of a duplicate group is kept: hard (farthest from its cluster centroid, as in SemDeDup "
        "and NeMo Curator), easy (closest to it) or first (smallest clip id).",
    )
    where: str | None = option(None, help="Only deduplicate rows matching this SQL filter, e.g. \"split = 'train'\".")


@attrs.frozen
class FilterConfig:
    positive_texts: list[str] = option(
        help="Keep clips whose cosine similarity to at least one of these texts is >= filter.threshold.",
        factory=list,
    )
    negative_texts: list[str] = option(
        help="... and whose similarity to every one of these texts is < filter.threshold.", factory=list
    )
    threshold: float = option(0.25, help="Cosine similarity threshold for positive and negative texts.")
    where: str | None = option(None, help="Only consider rows matching this SQL filter, e.g. \"split = 'train'\".")


@attrs.frozen
class ExperimentConfig:
    results_dir: str = option("/results", help="Directory to save results, checkpoints, and logs.")
    encryption_key: str | None = option(None, help="Encryption key for model export (TAO compatibility).", secret=True)
    model_name: str = option("cosmos_embed1", help="Model name identifier.")
    wandb: WandbConfig = option(
        help="Weights and Biases logging configuration. Auto-disables if no API key is found.",
        factory=WandbConfig,
    )
    model: ModelConfig = option(help="Model configuration.", factory=ModelConfig)
    dataset: DatasetConfig = option(help="Dataset configuration.", factory=DatasetConfig)
    train: Embed1TrainConfig = option(help="Training configuration.", factory=Embed1TrainConfig)
    evaluate: EvaluateConfig = option(help="Evaluation configuration.", factory=EvaluateConfig)
    inference: InferenceConfig = option(help="Inference configuration.", factory=InferenceConfig)
    export: ExportConfig = option(help="Export configuration.", factory=ExportConfig)
    index: IndexConfig = option(
        help="Clip index (LanceDB) of 'index', searched by inference.index.", factory=IndexConfig
    )
    dedup: DedupConfig = option(help="Semantic deduplication of an index ('dedup').", factory=DedupConfig)
    filter: FilterConfig = option(help="Text-based filtering of an index ('filter').", factory=FilterConfig)
    ray: RayConfig = option(help="Ray cluster and actor pool of index.engine=ray.", factory=RayConfig)


__all__ = [
    "CHECKPOINT_PREFIX",
    "FAMILY",
    "DatasetConfig",
    "ExperimentConfig",
    "ExportConfig",
    "InferenceConfig",
    "ModelConfig",
    "OptimConfig",
]
