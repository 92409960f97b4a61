"""The Cosmos-Transfer1 experiment config: the reference's top-level sections and key names.

The reference composes its config with Hydra from ``config_train.py`` and an experiment file; users
know its sections (``job``, ``trainer``, ``checkpoint``, ``model_parallel``, ``optimizer``, ``scheduler``,
``model``, ``dataloader_train``) and override keys such as ``trainer.max_iter=100
checkpoint.save_iter=40``. This schema keeps those names and the values of the 7B experiments as
defaults (``ctrl_7b_tp_121frames.py``); what the reference builds with ``LazyCall`` (the network,
tokenizer and dataset classes) is chosen here by plain values (``model.net.preset``,
``model.tokenizer.path``, ``dataloader_train.dataset.dataset_dir``). ``generate`` holds the settings of
our ``generate`` action. This module imports no torch.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
from cosmos_core.config import option

REFERENCE_LR = 2**-14.3  # ~4.96e-5, ctrl_7b_tp_121frames.py


def _default_callbacks() -> dict[str, Any]:
    """The reference's GradClip (norm 1.0) and speed/loss logging every ``logging_iter`` (200)."""
    return {
        "gradient_clip": {"clip_norm": 1.0},
        "iter_speed": {"every_n": 200},
        "log_losses": {"every_n": 200},
    }


@attrs.frozen
class JobConfig:
    project: str = option("cosmos_transfer1_pretrain", help="Project: the first folder under OUTPUT_ROOT.")
    group: str = option("CTRL_7Bv1_lvg", help="Group: the second folder.")
    name: str = option("CTRL_7Bv1pt3_lvg_tp_121frames_control_input_edge_block3_pretrain", help="Run name.")


@attrs.frozen
class TrainerConfig:
    max_iter: int = option(999_999_999, help="Iterations to train to (resumed runs continue to it).")
    logging_iter: int = option(200, help="Log losses and speed every N iterations (default for those callbacks).")
    seed: int = option(0, help="Seed of model initialisation, sampling and noise.")
    timestamp_seed: bool = option(
        True,
        help="Seed sampling and noise from the start time instead of `seed` (the reference's default); the "
        "chosen seed is stored in the checkpoints, so a resumed run continues with it.",
    )
    grad_accum_iter: int = option(1, help="Micro-batches accumulated per optimizer step.")
    distributed_parallelism: Literal["ddp"] = option(
        "ddp", help="How data-parallel ranks synchronise (DDP; FSDP is model.fsdp_enabled)."
    )
    callbacks: dict[str, Any] = option(
        help="Training callbacks by name with their parameters (cosmos-run list callbacks); remove a key to "
        "disable one.",
        factory=_default_callbacks,
    )


@attrs.frozen
class CheckpointConfig:
    save_iter: int = option(1000, help="Save a checkpoint every N iterations.")
    load_path: str = option(
        "",
        help="Post-training: the control checkpoint to start from (<mod>_control.pt, or its TP split "
        "checkpoints_tp/<mod>_control.pt whose _model_mp_{rank}.pt shards are read). Empty: pretrain, the "
        "control branch starts as a copy of the base blocks. Ignored when the job folder has a checkpoint "
        "to resume.",
    )
    load_training_state: bool = option(
        False, help="With load_path: also restore its optimizer, scheduler and iteration (a training checkpoint)."
    )


@attrs.frozen
class ModelParallelConfig:
    tensor_model_parallel_size: int = option(8, help="Tensor-parallel size (the processes of one TP group).")
    sequence_parallel: bool = option(True, help="Split norms and activations over the TP group along tokens.")
    context_parallel_size: int = option(1, help="Context parallelism (only 1 is supported).")


@attrs.frozen
class OptimizerConfig:
    lr: float = option(REFERENCE_LR, help="Learning rate (2^-14.3 in the 7B experiments).")
    weight_decay: float = option(0.1, help="Weight decay, applied to every trainable parameter (as the reference).")
    betas: list[float] = option(help="Adam betas.", factory=lambda: [0.9, 0.99])
    eps: float = option(1e-10, help="Adam epsilon.")
    master_weights: bool = option(
        True,
        help="With model.precision=bfloat16: the networks train in bf16 (activations and gradients too, no "
        "autocast) and the optimizer steps fp32 master copies of the trainable weights, as the reference's "
        "FusedAdam(master_weights=True); false keeps fp32 weights under bf16 autocast (more memory).",
    )


@attrs.frozen
class SchedulerConfig:
    """The reference's LambdaLinearScheduler: warm-up from ``f_start`` to ``f_max`` over ``warm_up_steps``."""

    warm_up_steps: list[int] = option(help="Warm-up steps (one cycle).", factory=lambda: [2500])
    f_start: list[float] = option(help="LR factor at step 0.", factory=lambda: [1.0e-6])
    f_max: list[float] = option(help="LR factor at the end of warm-up.", factory=lambda: [1.0])
    f_min: list[float] = option(help="LR factor at the end of the cycle.", factory=lambda: [1.0])
    cycle_lengths: list[int] = option(help="Cycle length in steps.", factory=lambda: [10_000_000_000_000])


@attrs.frozen
class NetConfig:
    preset: Literal["7b", "tiny"] = option(
        "7b", help="Network size: 7b (the released DiT) or tiny (a 256-wide, 4-block DiT for CPU runs)."
    )
    in_channels: int = option(17, help="Latent channels + the condition mask (16 for text-to-world nets).")
    rope_t_extrapolation_ratio: float = option(2.0, help="Temporal RoPE NTK ratio of the base net.")


@attrs.frozen
class NetCtrlConfig:
    in_channels: int = option(17, help="Input channels of the control branch.")
    hint_channels: int = option(128, help="Hint latent channels the branch embeds (hints are zero-padded).")
    num_control_blocks: int = option(3, help="Base blocks copied into the control branch (block3: 3).")


@attrs.frozen
class EMAConfig:
    enabled: bool = option(True, help="Track a power EMA of the trainable weights (saved as the model file's 'ema').")
    rate: float = option(0.1, help="sigma_rel of the power EMA.")
    num: int = option(3, help="Data-parallel ranks with distinct rates (s, s/2, s/4).")


@attrs.frozen
class TokenizerConfig:
    path: str = option(
        "checkpoints/nvidia/Cosmos-Tokenize1-CV8x8x8-720p",
        help="The video tokenizer: a folder with encoder.jit, decoder.jit and mean_std.pt (the released "
        "Cosmos-Tokenize1-CV8x8x8-720p), or a .pt file of cosmos-run's small autoencoder (train_tokenizer).",
    )


@attrs.frozen
class VideoCondBoolConfig:
    first_random_n_num_condition_t_max: int = option(
        2, help="At most this many first latent frames are given as conditioning (0 for text-to-world)."
    )


@attrs.frozen
class ConditionerConfig:
    video_cond_bool: VideoCondBoolConfig = option(help="Video conditioning frames.", factory=VideoCondBoolConfig)
    text_dropout_rate: float = option(0.2, help="Probability of dropping a sample's T5 embedding (for guidance).")


@attrs.frozen
class ModelConfig:
    net: NetConfig = option(help="The base DiT.", factory=NetConfig)
    net_ctrl: NetCtrlConfig = option(help="The control branch.", factory=NetCtrlConfig)
    hint_key: str = option(
        "control_input_edge", help="The control modality: control_input_<name> (cosmos-run list control_modalities)."
    )
    base_load_from: str = option(
        "checkpoints/nvidia/Cosmos-Transfer1-7B/checkpoints_tp/base_model_model_mp_*.pt",
        help="The frozen base's weights: base_model.pt, or its TP split with '*' for the tensor-parallel rank. "
        "Empty: random init (tiny experiments only).",
    )
    finetune_base_model: bool = option(False, help="Train the base DiT too (the released experiments freeze it).")
    hint_dropout_rate: float = option(0.3, help="Dropout of hint sub-conditions (multi-condition hints only).")
    sigma_data: float = option(0.5, help="EDM sigma_data.")
    loss_add_logvar: bool = option(True, help="Weight the loss by the learned log-variance head (u + e^-u L).")
    precision: Literal["bfloat16", "float32"] = option(
        "bfloat16", help="Compute precision (fp32 master weights; bf16 autocast where the device has it)."
    )
    latent_shape: list[int] = option(help="[C, T, H, W] of a training latent.", factory=lambda: [16, 16, 88, 160])
    ema: EMAConfig = option(help="Power EMA.", factory=EMAConfig)
    tokenizer: TokenizerConfig = option(help="Video tokenizer.", factory=TokenizerConfig)
    conditioner: ConditionerConfig = option(help="Conditioning.", factory=ConditionerConfig)
    n_views: int = option(
        1, help="Camera views of a multi-view (sv2mv) experiment; cosmos-run trains single-view nets."
    )
    fsdp_enabled: bool = option(False, help="Shard the trainable branch with FSDP over the data-parallel ranks.")
    activation_checkpointing: bool = option(False, help="Recompute each block in the backward pass (saves memory).")


@attrs.frozen
class DatasetConfig:
    dataset_dir: str = option("datasets/hdvila", help="The prepared dataset (videos/, metas/, t5_xxl/, <modality>/).")
    num_frames: int = option(121, help="Frames per training sample.")
    resolution: str = option("720", help="Resolution bucket of the samples (720, 512, 480, 256, ...).")
    skip_missing_files: bool = option(True, help="Skip and count clips with missing or misaligned files.")


@attrs.frozen
class DataloaderConfig:
    dataset: DatasetConfig = option(help="The training dataset.", factory=DatasetConfig)
    batch_size: int = option(1, help="Samples per rank and step.")
    num_workers: int = option(8, help="Loader worker processes.")
    prefetch_factor: int = option(2, help="Batches prefetched per worker.")
    pin_memory: bool = option(True, help="Pin batches in memory (GPU only).")


@attrs.frozen
class GenerateConfig:
    """Settings of ``cosmos-run cosmos-transfer1 generate`` (cosmos-run's own; the reference has a separate CLI)."""

    checkpoint: str = option(
        "", help="A training checkpoint (iter_N.pt) of this job, or a <mod>_control.pt; empty: the job's latest."
    )
    input_video: str = option("", help="A video to derive the control input from (computed like in training).")
    control_path: str = option("", help="A prepared control file instead (depth/hdmap/lidar mp4, seg/keypoint pickle).")
    prompt: str = option("", help="Text of the caption (encoded with t5_model).")
    t5_pickle: str = option("", help="A T5 pickle of the caption instead of prompt.")
    t5_model: str = option("google-t5/t5-11b", help="Local folder or cached name of the T5 encoder for prompt.")
    control_weight: float = option(1.0, help="Strength of the control branch.")
    guidance: float = option(5.0, help="Classifier-free guidance scale (the reference's default 5).")
    num_steps: int = option(35, help="Sampler steps.")
    seed: int = option(0, help="Seed of the initial noise.")
    use_ema: bool = option(True, help="Use the EMA weights when the checkpoint has them.")
    output: str = option("", help="The mp4 to write (default: <job>/generate/<name>.mp4).")


@attrs.frozen
class TransferExperiment:
    job: JobConfig = option(
        help="Job identity; the run folder is ${OUTPUT_ROOT:-checkpoints}/project/group/name.", factory=JobConfig
    )
    trainer: TrainerConfig = option(help="Training loop.", factory=TrainerConfig)
    checkpoint: CheckpointConfig = option(help="Checkpoints.", factory=CheckpointConfig)
    model_parallel: ModelParallelConfig = option(help="Model parallelism.", factory=ModelParallelConfig)
    optimizer: OptimizerConfig = option(help="FusedAdam settings.", factory=OptimizerConfig)
    scheduler: SchedulerConfig = option(help="LR schedule.", factory=SchedulerConfig)
    model: ModelConfig = option(help="Networks, diffusion and tokenizer.", factory=ModelConfig)
    dataloader_train: DataloaderConfig = option(help="Training data.", factory=DataloaderConfig)
    generate: GenerateConfig = option(help="The generate action.", factory=GenerateConfig)

    @property
    def trains_bf16_weights(self) -> bool:
        """Whether the networks train in bf16 themselves, with fp32 master weights in the optimizer and no
        autocast (``model.precision: bfloat16`` with ``optimizer.master_weights``)."""
        return self.model.precision == "bfloat16" and self.optimizer.master_weights
