"""Network and LoRA configuration of Cosmos-Embed1 (``model.network`` and ``model.lora`` of a spec).

Names and defaults follow the NetworkConfig / VisualEncoderConfig / LoRAConfig tables of NVIDIA TAO's
cosmos-embed1 documentation. Two fields are ours: ``scale`` (a CPU-sized model with the same structure)
and ``vocab_file``. Torch-free, so a spec validates before anything heavy is imported.

Scale rule: ``scale`` picks the dimensions of the whole network (ViT and Q-Former together, see
``cosmos_embed.model.dims``); ``visual_encoder.type`` must name the matching ViT (``eva_vit_g`` for
``full``, ``eva_vit_tiny`` for ``tiny``). A mismatch is reported by ``validate_network_config``
rather than silently resolved, so a spec always says what it builds.
"""

from __future__ import annotations

from typing import Literal

import attrs
from cosmos_core.config import option

VisualEncoderType = Literal["eva_vit_g", "eva_vit_tiny"]
TemporalEncodingType = Literal["neighboring_token_propagation", "temporal_parameter"]
ContrastiveType = Literal["clip", "siglip"]
QueryPoolingType = Literal["avg", "attention", "identity"]
Scale = Literal["full", "tiny"]
LoraBias = Literal["none", "all", "lora_only"]

DEFAULT_LORA_TARGETS = [
    "qkv",
    "fc1",
    "fc2",
    "attn.proj",
    "query",
    "value",
    "key",
    "dense",
    "vision_proj",
    "text_proj",
    "itm_proj",
]


@attrs.frozen
class VisualEncoderConfig:
    type: VisualEncoderType = option(
        "eva_vit_g",
        help="Visual encoder type: eva_vit_g (the released model) or eva_vit_tiny (goes with "
        "model.network.scale=tiny).",
    )
    img_size: int = option(
        224,
        help="Input size the visual encoder was pretrained at (TAO). Weights load whatever grid their "
        "visual_encoder.pos_embed is stored at (the released files keep 224 -> 16x16), resampled to "
        "model.network.spatial_resolution; exports store the model's own grid.",
    )
    pretrained: bool = option(False, help="Load pretrained visual encoder weights from S3.")
    use_fp8: bool = option(False, help="Use FP8 precision with Transformer Engine (requires transformer_engine=true).")
    transformer_engine: bool = option(
        True,
        help="Use Transformer Engine for the ViT attention. Falls back to PyTorch attention with one warning "
        "when transformer_engine is not installed. Must be false with LoRA.",
    )
    checkpoint_activations: bool = option(
        False, help="Use gradient checkpointing for activations (per ViT block) to reduce memory usage."
    )
    checkpoint_attention: bool = option(
        False, help="Use gradient checkpointing for the ViT attention core only (works with and without TE)."
    )


@attrs.frozen
class NetworkConfig:
    visual_encoder: VisualEncoderConfig = option(help="Visual encoder configuration.", factory=VisualEncoderConfig)
    embed_dim: int = option(256, help="Output embedding dimension for video-text alignment.")
    num_query_tokens: int = option(32, help="Number of learnable query tokens in the Q-Former.")
    max_txt_len: int = option(128, help="Maximum text token sequence length.")
    num_video_frames: int = option(8, help="Number of input video frames.")
    spatial_resolution: list[int] = option(
        help="Spatial resolution [H, W] for input video frames.", factory=lambda: [224, 224]
    )
    temporal_encoding_type: TemporalEncodingType = option(
        "neighboring_token_propagation", help="Type of temporal encoding."
    )
    contrastive_type: ContrastiveType = option("clip", help="Contrastive loss type: clip or siglip.")
    qformer_pretrain_ckpt: str | None = option(
        None,
        help="BERT weights to initialise the Q-Former from: a local file/directory or a Hugging Face repo id "
        "in the local cache (e.g. google-bert/bert-base-uncased). Leave null when loading a full checkpoint.",
    )
    query_pooling_type: QueryPoolingType = option(
        "avg", help="Query pooling method after the Q-Former: avg, attention or identity."
    )
    pretrained_text_encoder: bool = option(
        False,
        help="Initialise the Q-Former (the text encoder) from BERT weights: qformer_pretrain_ckpt, or "
        "google-bert/bert-base-uncased from the local Hugging Face cache when that is null.",
    )
    pretrained_visual_encoder: bool = option(
        False, help="Load pretrained weights for the visual encoder from S3 or HuggingFace."
    )
    num_heldout_frames: int = option(
        0,
        help="In training, this many randomly chosen frames of each clip are left out before encoding "
        "(temporal augmentation); evaluation always encodes all frames.",
    )
    scale: Scale = option(
        "full",
        help="full = the released model; tiny = a few-hundred-K-parameter CPU model with the same "
        "structure. Sets the dimensions of ViT and Q-Former together; visual_encoder.type must be "
        "eva_vit_tiny for tiny.",
    )
    vocab_file: str | None = option(
        None,
        help="WordPiece vocab.txt. None = bert-base-uncased from the local Hugging Face cache (full scale) "
        "or the vocab shipped with cosmos-embed (tiny scale). [DEC] is appended as the last id.",
    )


@attrs.frozen
class LoRAConfig:
    enabled: bool = option(False, help="Enable LoRA fine-tuning.")
    lora_rank: int = option(8, help="Rank of the low-rank adapter matrices.")
    lora_alpha: int = option(16, help="Alpha scaling factor for LoRA. Typically 2x lora_rank.")
    lora_dropout: float = option(0.1, help="Dropout probability applied to LoRA layers.")
    bias: LoraBias = option("none", help="Bias handling for LoRA: none, all or lora_only.")
    use_rslora: bool = option(False, help="Use Rank-Stabilized LoRA.")
    use_dora: bool = option(False, help="Use DoRA (Weight-Decomposed Low-Rank Adaptation).")
    target_modules: list[str] | None = option(
        help="Module name patterns to apply LoRA to (a module matches when its dotted name ends with one).",
        factory=lambda: list(DEFAULT_LORA_TARGETS),
    )
    modules_to_save: list[str] | None = option(
        help="Modules kept fully trainable next to the adapters.",
        factory=lambda: ["temporal_encoding", "query_pooling"],
    )


def validate_network_config(network: NetworkConfig, lora: LoRAConfig | None = None) -> list[str]:
    """Every problem of a network (+ LoRA) config, each naming its ``model.*`` path; empty when valid.

    The launcher reports these at load time; ``CosmosEmbed1`` raises ``ValueError`` with them.
    """
    from cosmos_embed.model.dims import VIT_TYPE_FOR_SCALE, qformer_dims, vit_dims

    problems: list[str] = []
    net = "model.network"
    vit = network.visual_encoder
    expected_type = VIT_TYPE_FOR_SCALE[network.scale]
    if vit.type != expected_type:
        problems.append(
            f"{net}.visual_encoder.type={vit.type} does not go with {net}.scale={network.scale}: "
            f"set {net}.visual_encoder.type={expected_type} (scale picks the dimensions of ViT and Q-Former)"
        )
    patch = vit_dims(network).patch_size
    resolution = network.spatial_resolution
    if len(resolution) != 2 or any(side < patch or side % patch for side in resolution):
        problems.append(
            f"{net}.spatial_resolution={resolution} must be [H, W] with both sides multiples of the "
            f"{patch}-pixel patch size"
        )
    if vit.img_size < patch or vit.img_size % patch:
        problems.append(f"{net}.visual_encoder.img_size={vit.img_size} must be a multiple of the patch size {patch}")
    max_positions = qformer_dims(network).max_position_embeddings
    if not 2 <= network.max_txt_len <= max_positions:
        problems.append(f"{net}.max_txt_len={network.max_txt_len} must be between 2 and {max_positions}")
    for name in ("embed_dim", "num_query_tokens", "num_video_frames"):
        if getattr(network, name) < 1:
            problems.append(f"{net}.{name} must be at least 1, got {getattr(network, name)}")
    if not 0 <= network.num_heldout_frames < max(network.num_video_frames, 1):
        problems.append(
            f"{net}.num_heldout_frames={network.num_heldout_frames} must be >= 0 and smaller than "
            f"{net}.num_video_frames={network.num_video_frames}"
        )
    if vit.use_fp8 and not vit.transformer_engine:
        problems.append(f"{net}.visual_encoder.use_fp8=true requires {net}.visual_encoder.transformer_engine=true")
    if vit.pretrained or network.pretrained_visual_encoder:
        problems.append(
            f"{net}.pretrained_visual_encoder / {net}.visual_encoder.pretrained: cosmos-run never downloads "
            "weights; start from a full checkpoint with model.pretrained_model_path instead"
        )
    if network.scale == "tiny" and (network.pretrained_text_encoder or network.qformer_pretrain_ckpt):
        problems.append(
            f"{net}.pretrained_text_encoder / {net}.qformer_pretrain_ckpt: BERT weights only fit {net}.scale=full"
        )
    if lora is not None and lora.enabled:
        if vit.transformer_engine:
            problems.append(
                f"model.lora.enabled=true requires {net}.visual_encoder.transformer_engine=false: "
                "with Transformer Engine the ViT's linear layers are te.pytorch.Linear modules, which PEFT "
                "cannot wrap with adapters"
            )
        if lora.lora_rank < 1:
            problems.append(f"model.lora.lora_rank must be at least 1, got {lora.lora_rank}")
        if not 0.0 <= lora.lora_dropout < 1.0:
            problems.append(f"model.lora.lora_dropout must be in [0, 1), got {lora.lora_dropout}")
        if not lora.target_modules:
            problems.append("model.lora.target_modules is empty: name at least one module pattern")
    return problems
