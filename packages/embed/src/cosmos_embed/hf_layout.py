"""The Cosmos-Embed1 pieces of a Hugging Face export: config.json, processor and tokenizer files, and the
reload check. The generic writing (shards, index) is cosmos-export's.

File set and names follow the published repos (embed1.md §1): ``config.json`` (``CosmosEmbed1Config``
fields, embed1.md §2.1), ``processor_config.json``, ``vocab.txt``, ``tokenizer_config.json``,
``special_tokens_map.json``, ``added_tokens.json`` (``[DEC]`` as the last id), plus the published
remote-code files when the matching repo is in the local Hugging Face cache (they are NVIDIA's code and
are not shipped here; ``config.json`` names them in ``auto_map`` as the published one does).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from cosmos_core.config.loader import unstructure
from cosmos_core.errors import UserInputError

from cosmos_embed.model.config import NetworkConfig
from cosmos_embed.model.dims import qformer_dims
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.hub import cached_file
from cosmos_embed.model.loading import load_pretrained
from cosmos_embed.text.tokenizer import DEC_TOKEN, build_tokenizer, read_vocab, vocab_path

logger = logging.getLogger("cosmos.embed")

MODEL_TYPE = "cosmos-embed1"
AUTO_MAP = {
    "AutoConfig": "configuration_embed1.CosmosEmbed1Config",
    "AutoModel": "modeling_embed1.CosmosEmbed1",
}
PROCESSOR_AUTO_MAP = {"AutoProcessor": "preprocessing_embed1.CosmosEmbed1Processor"}
REMOTE_CODE_FILES = (
    "configuration_embed1.py",
    "modeling_embed1.py",
    "modeling_qformer.py",
    "modeling_vit.py",
    "modeling_utils.py",
    "modeling_outputs.py",
    "preprocessing_embed1.py",
)
RELEASED_REPOS = {224: "nvidia/Cosmos-Embed1-224p", 336: "nvidia/Cosmos-Embed1-336p", 448: "nvidia/Cosmos-Embed1-448p"}
SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "bos_token": DEC_TOKEN,
}
DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}
TOKENIZER_CHECK_TEXTS = ("A red car drives through the flooded street at night.", "[DEC] two people walking")


class HFReloadMismatch(UserInputError, RuntimeError):
    """The exported directory does not read back into the model it was exported from."""


def _resolution(cfg: NetworkConfig) -> int | list[int]:
    height, width = cfg.spatial_resolution
    return height if height == width else [height, width]


def hf_config(cfg: NetworkConfig, dtype: torch.dtype) -> dict[str, Any]:
    """``config.json``: the published ``CosmosEmbed1Config`` fields, plus our full network config under
    ``cosmos_run`` so nothing needed to rebuild the network is lost (HF configs keep unknown keys)."""
    import transformers

    return {
        "architectures": ["CosmosEmbed1"],
        "auto_map": dict(AUTO_MAP),
        "model_type": MODEL_TYPE,
        "embed_dim": cfg.embed_dim,
        "num_query_tokens": cfg.num_query_tokens,
        "max_txt_len": cfg.max_txt_len,
        "num_video_frames": cfg.num_video_frames,
        "temporal_encoding_type": cfg.temporal_encoding_type,
        "resolution": _resolution(cfg),
        "vocab_size": qformer_dims(cfg).vocab_size,
        "transformer_engine": False,
        "use_fp8": False,
        "torch_dtype": DTYPE_NAMES[dtype],
        "transformers_version": transformers.__version__,
        "cosmos_run": {"network": unstructure(cfg)},
    }


def processor_config(cfg: NetworkConfig) -> dict[str, Any]:
    return {
        "processor_class": "CosmosEmbed1Processor",
        "auto_map": dict(PROCESSOR_AUTO_MAP),
        "resolution": _resolution(cfg),
        "num_video_frames": cfg.num_video_frames,
        "max_txt_len": cfg.max_txt_len,
    }


def tokenizer_files(cfg: NetworkConfig) -> dict[str, str]:
    """vocab.txt and the three JSON files a ``BertTokenizer.from_pretrained(dir)`` reads, [DEC] included."""
    path = vocab_path(cfg)
    dec_id = len(read_vocab(path))
    dec_entry = {"content": DEC_TOKEN, "lstrip": False, "normalized": False, "rstrip": False}
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "model_max_length": cfg.max_txt_len,
        "added_tokens_decoder": {str(dec_id): {**dec_entry, "single_word": False, "special": True}},
        **SPECIAL_TOKENS,
    }
    return {
        "vocab.txt": path.read_text(encoding="utf-8"),
        "added_tokens.json": json_text({DEC_TOKEN: dec_id}),
        "special_tokens_map.json": json_text(SPECIAL_TOKENS),
        "tokenizer_config.json": json_text(tokenizer_config),
    }


def remote_code_files(cfg: NetworkConfig) -> dict[str, str]:
    """The published remote-code files from the local cache, for a released architecture; else {}."""
    height, width = cfg.spatial_resolution
    if cfg.scale != "full":
        return {}
    preferred = RELEASED_REPOS.get(height if height == width else 0)
    repos = [preferred, *RELEASED_REPOS.values()] if preferred else list(RELEASED_REPOS.values())
    found = {name: cached_file(list(dict.fromkeys(repos)), name) for name in REMOTE_CODE_FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        logger.warning(
            "config.json names the published remote code (auto_map) but %s is not in the local Hugging Face "
            "cache; copy %s from %s next to config.json to load the export with "
            "AutoModel.from_pretrained(..., trust_remote_code=True). cosmos-run reads it without them "
            "(model.pretrained_model_path=<dir>).",
            ", ".join(missing),
            ", ".join(REMOTE_CODE_FILES),
            preferred or RELEASED_REPOS[224],
        )
        return {}
    return {name: path.read_text(encoding="utf-8") for name, path in found.items()}


def is_lossless(dtype: torch.dtype) -> bool:
    """Whether reloading must reproduce the model exactly: fp32 storage (pos_embed is stored at the
    model's own grid, see :func:`cosmos_embed.model.loading.export_state_dict`)."""
    return dtype == torch.float32


def check_reload(directory: Path, network: CosmosEmbed1, dtype: torch.dtype) -> dict[str, Any]:
    """Load ``directory`` with our loader (strict) into a fresh model and compare it with ``network``.

    Zero missing and zero unexpected keys always; identical embeddings when the export is lossless
    (:func:`is_lossless`), otherwise the measured difference is reported with a warning saying why.
    The tokenizer files must tokenise like the model's own tokenizer.
    """
    cfg = network.config
    fresh = CosmosEmbed1(cfg).eval()
    result = load_pretrained(fresh, directory, strict=True)
    error = _max_embedding_difference(network.eval(), fresh)
    lossless = is_lossless(dtype)
    if lossless and error != 0.0:
        raise HFReloadMismatch(
            f"{directory} read back into a fresh model gives embeddings that differ from the exported model "
            f"by up to {error:.3g}, although the export is lossless (fp32, pos_embed at its own grid)"
        )
    if not lossless:
        logger.warning(
            "the export stores %s weights; reloaded embeddings differ from the exported model by up to %.2e "
            "(set model.precision=fp32 for an exact copy)",
            DTYPE_NAMES[dtype],
            error,
        )
    _check_tokenizer(directory, cfg)
    return {
        "missing_keys": len(result.missing_keys),
        "unexpected_keys": len(result.unexpected_keys),
        "max_abs_embedding_difference": error,
        "lossless": lossless,
        "tokenizer_matches": True,
    }


@torch.no_grad()
def _max_embedding_difference(reference: CosmosEmbed1, reloaded: CosmosEmbed1) -> float:
    from cosmos_embed.export_graphs import random_text, random_videos

    generator = torch.Generator().manual_seed(7)
    videos = random_videos(reference, 2, generator)
    input_ids, attention_mask = random_text(reference, 2, generator)
    video = reference.get_video_embeddings(videos).visual_proj - reloaded.get_video_embeddings(videos).visual_proj
    text = (
        reference.get_text_embeddings(input_ids, attention_mask).text_proj
        - reloaded.get_text_embeddings(input_ids, attention_mask).text_proj
    )
    return max(video.abs().max().item(), text.abs().max().item())


def _check_tokenizer(directory: Path, cfg: NetworkConfig) -> None:
    from transformers import BertTokenizer

    exported = BertTokenizer.from_pretrained(str(directory))
    ours = build_tokenizer(cfg)
    for text in TOKENIZER_CHECK_TEXTS:
        theirs = exported(text, padding="max_length", truncation=True, max_length=cfg.max_txt_len)["input_ids"]
        if theirs != ours([text])["input_ids"][0].tolist():
            raise HFReloadMismatch(
                f"the tokenizer files in {directory} tokenise {text!r} differently from the model's tokenizer"
            )


def json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
