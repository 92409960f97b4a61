"""Model folders with random weights, built from configs: what the preparation actions load, without downloads.

Each ``save_*`` function writes a folder (config, safetensors weights and the processor or tokenizer
files) that ``from_pretrained`` reads like a downloaded checkpoint. The tiny configs run on a CPU in
well under a second per frame; tests and the offline benchmarks use them to exercise the real loading
and inference code. The weights are random, so the outputs have the right formats and shapes but
no meaning.
"""

from __future__ import annotations

from pathlib import Path

from cosmos_transfer.preprocess.models import require

# fmt: off
_T5_WORDS = [
    "a", "an", "the", "red", "green", "blue", "yellow", "white", "black", "square", "circle", "car", "person",
    "road", "moving", "right", "left", "up", "down", "on", "in", "of", "and", "with", "is", "walking", "running",
    "dog", "cat", "tree", "house", "sky", "water", "street", "near", "far", "small", "big",
]
# fmt: on
_BERT_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", *_T5_WORDS]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _transformers():
    return require("transformers", purpose="building random models")


def save_random_t5(folder: Path, *, d_model: int = 1024, seed: int = 0) -> Path:
    """A one-layer T5 encoder of width ``d_model`` (1024 like T5-11B) and a unigram tokenizer."""
    import torch

    transformers = _transformers()
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"\u2581{word}", -float(rank)) for rank, word in enumerate(_T5_WORDS, start=1)]
    vocab += [(char, -50.0) for char in "abcdefghijklmnopqrstuvwxyz\u2581"]
    tokenizer = transformers.T5Tokenizer(vocab=vocab, extra_ids=0)
    torch.manual_seed(seed)
    config = transformers.T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=16,
        d_ff=64,
        num_layers=1,
        num_heads=2,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
    )
    transformers.T5EncoderModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_random_depth_anything(folder: Path, *, seed: int = 0) -> Path:
    """A Depth-Anything model on a 4-layer DINOv2 backbone, with its DPT image processor (56 px input)."""
    import torch

    transformers = _transformers()
    from transformers.models.dpt.image_processing_pil_dpt import DPTImageProcessorPil

    torch.manual_seed(seed)
    backbone = transformers.Dinov2Config(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=56,
        patch_size=14,
        out_features=["stage1", "stage2", "stage3", "stage4"],
        reshape_hidden_states=False,
    )
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=32,
        neck_hidden_sizes=[16, 16, 16, 16],
        fusion_hidden_size=16,
        head_hidden_size=8,
        patch_size=14,
    )
    transformers.DepthAnythingForDepthEstimation(config).eval().save_pretrained(folder)
    DPTImageProcessorPil(
        size={"height": 56, "width": 56},
        keep_aspect_ratio=True,
        ensure_multiple_of=14,
        resample=3,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    ).save_pretrained(folder)
    return folder


def save_random_grounding_dino(folder: Path, *, seed: int = 0) -> Path:
    """A Grounding-DINO with a tiny Swin backbone and a one-layer BERT text encoder, and its processor."""
    import torch

    transformers = _transformers()
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import GroundingDinoImageProcessorPil

    torch.manual_seed(seed)
    tokenizer = transformers.BertTokenizer(vocab={word: index for index, word in enumerate(_BERT_WORDS)})
    backbone = transformers.SwinConfig(
        embed_dim=32,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1],
        window_size=7,
        image_size=224,
        out_features=["stage2", "stage3", "stage4"],
    )
    text = transformers.BertConfig(
        vocab_size=len(_BERT_WORDS),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    config = transformers.GroundingDinoConfig(
        backbone_config=backbone,
        text_config=text,
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_queries=4,
        num_feature_levels=4,
        max_text_len=256,
        use_timm_backbone=False,
    )
    transformers.GroundingDinoForObjectDetection(config).eval().save_pretrained(folder)
    processor = transformers.GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 128}),
        tokenizer=tokenizer,
    )
    processor.save_pretrained(folder)
    return folder


def save_random_sam2_video(folder: Path, *, seed: int = 0) -> Path:
    """A SAM 2 video model (64 px input, a 5-block Hiera backbone, one memory-attention layer).

    Two constraints of transformers' implementation shape it: the memory encoder's output must have
    64 channels (the memory attention's key width is fixed at 64) and the hidden width must be a
    multiple of it; a stage's first block must not be a global-attention block.
    """
    import torch

    transformers = _transformers()
    torch.manual_seed(seed)
    vision = {
        "model_type": "sam2_vision_model",
        "backbone_config": {
            "model_type": "sam2_hiera_det_model",
            "hidden_size": 16,
            "num_attention_heads": 1,
            "image_size": [64, 64],
            "blocks_per_stage": [1, 1, 2, 1],
            "embed_dim_per_stage": [16, 32, 64, 128],
            "num_attention_heads_per_stage": [1, 1, 1, 1],
            "window_size_per_stage": [4, 4, 4, 2],
            "global_attention_blocks": [3],
            "num_query_pool_stages": 3,
        },
        "backbone_channel_list": [128, 64, 32, 16],
        "backbone_feature_sizes": [[16, 16], [8, 8], [4, 4]],
        "fpn_hidden_size": 128,
    }
    config = transformers.Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config={
            "model_type": "sam2_prompt_encoder",
            "hidden_size": 128,
            "image_size": 64,
            "patch_size": 16,
            "mask_input_channels": 4,
        },
        mask_decoder_config={
            "model_type": "sam2_mask_decoder",
            "hidden_size": 128,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "mlp_dim": 64,
            "iou_head_hidden_dim": 32,
        },
        image_size=64,
        memory_attention_hidden_size=128,
        memory_attention_num_layers=1,
        memory_attention_num_attention_heads=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[4, 4],
        memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64,
        mask_downsampler_embed_dim=128,
        memory_fuser_embed_dim=128,
        memory_fuser_intermediate_dim=64,
    )
    transformers.Sam2VideoModel(config).eval().save_pretrained(folder)
    return folder


def save_random_vitpose(folder: Path, *, num_keypoints: int = 133, seed: int = 0) -> Path:
    """A ViTPose+ (6 MoE experts, the classic decoder) with ``num_keypoints`` outputs and its processor."""
    import torch

    transformers = _transformers()
    from transformers.models.vitpose.image_processing_pil_vitpose import VitPoseImageProcessorPil

    torch.manual_seed(seed)
    backbone = transformers.VitPoseBackboneConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=[64, 48],
        patch_size=[16, 16],
        num_experts=6,
        part_features=8,
        out_indices=[2],
    )
    config = transformers.VitPoseConfig(backbone_config=backbone, num_labels=num_keypoints, use_simple_decoder=False)
    transformers.VitPoseForPoseEstimation(config).eval().save_pretrained(folder)
    VitPoseImageProcessorPil(size={"height": 64, "width": 48}).save_pretrained(folder)
    return folder


BUILDERS = {
    "t5": save_random_t5,
    "depth_anything": save_random_depth_anything,
    "grounding_dino": save_random_grounding_dino,
    "sam2_video": save_random_sam2_video,
    "vitpose": save_random_vitpose,
}


def main(argv: list[str] | None = None) -> int:
    """``python -m cosmos_transfer.preprocess.random_models t5 FOLDER``: a random model folder (demos, tests)."""
    import argparse

    parser = argparse.ArgumentParser(description="Write a model folder with random weights (no download).")
    parser.add_argument("model", choices=sorted(BUILDERS))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.folder / "config.json").is_file():
        print(f"{args.folder} already holds a model")
        return 0
    BUILDERS[args.model](args.folder, seed=args.seed)
    print(f"wrote a random {args.model} model to {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
