"""What every Cosmos-Embed1 action shares: datasets, checkpoints → networks, encoding, skip reports."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs
import torch
from cosmos_core.config.loader import CONVERTER, structure, unstructure
from cosmos_core.errors import UserInputError
from cosmos_core.run import RunContext
from cosmos_core.training import CheckpointError, load_checkpoint
from cosmos_core.training.precision import resolve_precision
from cosmos_datasets.collate import collate_samples
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.selection import build_dataset as build_registered_dataset
from cosmos_datasets.skips import SkipLog
from cosmos_embed import embedding_cache
from cosmos_embed.compiled import CompiledVideoPath, compile_usable
from cosmos_embed.compiled import compile_mode as resolve_compile_mode
from cosmos_embed.config import FAMILY, ExperimentConfig, ModelConfig
from cosmos_embed.corpus import encode_dataset as encode_dataset  # re-exported: the encoding API
from cosmos_embed.ema import checkpoint_ema, with_ema_weights
from cosmos_embed.model.embed1 import CosmosEmbed1
from cosmos_embed.model.loading import export_state_dict, load_state_dict_into, read_state_dict
from cosmos_embed.model.lora import apply_lora, merge_lora
from cosmos_embed.model.spectral import fold_spectral_state, has_spectral_state
from cosmos_embed.text.tokenizer import TextTokenizer, build_tokenizer

logger = logging.getLogger("cosmos.embed")


class CheckpointFamilyError(UserInputError, ValueError):
    """A checkpoint of another model family was given to a Cosmos-Embed1 action."""


def build_dataset(ctx: RunContext, cfg: SingleDatasetConfig, training: bool, skips: SkipLog, path: str) -> Any:
    """The dataset of ``cfg`` (the config at ``path``, e.g. ``dataset.train_dataset``) from the registry."""
    dataset = build_registered_dataset(cfg, ctx.host.datasets, training=training, path=path)
    inner = getattr(dataset, "dataset", dataset)
    if hasattr(inner, "skipped_at_build"):
        skips.add(inner.skipped_at_build())
    return dataset


def collate_with(tokenizer: TextTokenizer) -> Any:
    return functools.partial(collate_samples, tokenize=tokenizer)


# -------------------------------------------------------------------------------------------------
# Checkpoints → networks
# -------------------------------------------------------------------------------------------------


def checkpoint_metadata(config: ExperimentConfig) -> dict[str, Any]:
    """Stored in every training checkpoint: which family, and the model section it was trained with."""
    return {"family": FAMILY, "model": unstructure(config.model)}


def _flatten(data: Any, prefix: str) -> dict[str, Any]:
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix}.{key}"))
        return flat
    return {prefix: data}


def differing_fields(spec: ModelConfig, checkpoint: ModelConfig, sections: tuple[str, ...]) -> list[str]:
    """Paths of fields in ``model.<section>`` where a spec and a checkpoint disagree."""
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    for section in sections:
        ours |= _flatten(unstructure(getattr(spec, section)), f"model.{section}")
        theirs |= _flatten(unstructure(getattr(checkpoint, section)), f"model.{section}")
    return sorted(path for path in ours.keys() | theirs.keys() if ours.get(path) != theirs.get(path))


def read_weights(path: str, setting: str, use_ema: bool = True) -> tuple[dict[str, torch.Tensor], ModelConfig | None]:
    """Plain network weights of a cosmos-run training checkpoint (with its model config) or of foreign
    weights; ``setting`` is the config path that named ``path`` (errors start with it).

    A training checkpoint's EMA shadows replace the raw weights when it has them and ``use_ema``
    (``model.use_ema_weights``); σReparam layers are folded into plain weights either way.
    """
    file = Path(path)
    if file.is_file() and file.suffix in (".pth", ".pt"):
        try:
            payload = load_checkpoint(file)
        except CheckpointError:
            payload = None
        if payload is not None:
            metadata = payload.get("metadata") or {}
            family = metadata.get("family")
            if family != FAMILY:
                raise CheckpointFamilyError(
                    f"{path} is a {family or 'unknown-family'} checkpoint, not a {FAMILY} one: pass a "
                    f"checkpoint written by 'cosmos-run {FAMILY} train'"
                )
            return _plain(_training_weights(payload, use_ema, path)), structure(
                ModelConfig, metadata["model"], f"{path} metadata"
            )
    return _plain(read_state_dict(path, setting)), None


def _training_weights(payload: Mapping[str, Any], use_ema: bool, path: str) -> dict[str, torch.Tensor]:
    """The network state of a training checkpoint's payload: its EMA weights when it has them and
    ``use_ema``, else the raw trained ones."""
    ema = checkpoint_ema(payload)
    if ema is None or not use_ema:
        if ema is not None:
            logger.info("%s: using the raw trained weights (model.use_ema_weights=false), not its EMA", path)
        return dict(payload["model"])
    logger.info(
        "%s: using its EMA weights (%d updates; model.use_ema_weights=false for the raw ones)",
        path,
        ema.get("updates", 0),
    )
    return with_ema_weights(payload["model"], ema)


def _plain(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return fold_spectral_state(state) if has_spectral_state(state) else state


def network_from_checkpoint(
    path: str, spec: ModelConfig, setting: str, sections: tuple[str, ...] = ("network", "lora")
) -> tuple[CosmosEmbed1, ModelConfig]:
    """Rebuild the network a checkpoint was trained with and load it (LoRA adapters merged).

    The checkpoint's stored model config wins over the spec; the fields that differ are named once,
    so nobody has to repeat network settings to use a checkpoint. Training from a checkpoint compares
    only ``network``: whether to add LoRA adapters is the new run's choice.
    """
    state, trained_with = read_weights(path, setting, use_ema=spec.use_ema_weights)
    if trained_with is None:
        model_cfg = spec
    else:
        differing = differing_fields(spec, trained_with, sections)
        if differing:
            logger.warning(
                "the spec's model section differs from the one %s was trained with in %s; using the "
                "checkpoint's values",
                path,
                ", ".join(differing),
            )
        model_cfg = attrs.evolve(spec, network=trained_with.network, lora=trained_with.lora)
    network = CosmosEmbed1(model_cfg.network)
    if trained_with is not None and model_cfg.lora.enabled:
        apply_lora(network, model_cfg.lora)
        load_state_dict_into(network, state, strict=True, source=path)
        network = merge_lora(network)
    else:
        load_state_dict_into(network, state, strict=spec.pretrained_model_strict, source=path)
    return network, model_cfg


def frames_for(cfg: SingleDatasetConfig, network: CosmosEmbed1, setting: str) -> SingleDatasetConfig:
    """The dataset config with the frame count and size the network takes (the checkpoint decides)."""
    net = network.config
    wanted = {"num_video_frames": net.num_video_frames, "resolution": list(net.spatial_resolution)}
    current = {"num_video_frames": cfg.num_video_frames, "resolution": list(cfg.resolution)}
    if wanted == current:
        return cfg
    changed = ", ".join(f"{setting}.{k}={current[k]} -> {wanted[k]}" for k in wanted if wanted[k] != current[k])
    logger.warning("sampling clips as the checkpoint's network expects: %s", changed)
    return attrs.evolve(cfg, **wanted)


# -------------------------------------------------------------------------------------------------
# Encoding
# -------------------------------------------------------------------------------------------------


class Embedder(Protocol):
    """What :class:`Encoder` runs: a ``CosmosEmbed1``, or the training module (FSDP-aware) wrapping one."""

    config: Any

    def get_video_embeddings(self, videos: torch.Tensor) -> Any: ...

    def get_text_embeddings(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any: ...


@attrs.frozen
class Encoder:
    """A network on a device, in eval mode, with its precision and tokenizer: the one encoding engine.

    Evaluate, inference and the index build all encode through :meth:`videos` (via
    :func:`~cosmos_embed.corpus.encode_dataset` for a corpus). Clips travel to the device as uint8 (a
    quarter of float32's bytes; the network normalises them there), without blocking when the loader
    pinned them; the forward runs under ``precision``'s autocast (bf16 on CPUs too) and, with
    ``compiled`` (``model.compile``), through :class:`~cosmos_embed.compiled.CompiledVideoPath`.
    """

    network: Embedder
    tokenizer: TextTokenizer
    device: torch.device
    precision: Any
    compiled: CompiledVideoPath | None = None

    @classmethod
    def create(
        cls,
        network: CosmosEmbed1,
        precision: str,
        device: torch.device,
        compile: bool = False,
        compile_mode: str | None = None,
        compile_backend: str = "inductor",
    ) -> Encoder:
        """``compile`` (``model.compile``) compiles the video path; where inductor cannot run it warns
        and stays eager. ``compile_mode`` defaults to ``$COSMOS_EMBED_COMPILE_MODE`` or ``default``."""
        network = network.to(device).eval()
        compiled = None
        if compile:
            reason = compile_usable(device) if compile_backend == "inductor" else None
            if reason is None:
                compiled = CompiledVideoPath(network, resolve_compile_mode(device, compile_mode), compile_backend)
            else:
                logger.warning("model.compile=true but %s; encoding eagerly", reason)
        plan = resolve_precision(precision, device, "model.precision")
        return cls(network, build_tokenizer(network.config), device, plan, compiled)

    @torch.no_grad()
    def videos(self, videos: torch.Tensor) -> torch.Tensor:
        """Embeddings [B, E] (float32, on the CPU) of clips [B, T, 3, H, W]."""
        return self.videos_async(videos).cpu()

    @torch.no_grad()
    def videos_async(self, videos: torch.Tensor) -> torch.Tensor:
        """Like :meth:`videos`, but left on the device: on CUDA the forward may still be running when
        this returns (``.cpu()`` waits for it), so the caller can fetch the next batch meanwhile."""
        videos = videos.to(self.device, non_blocking=videos.is_pinned())
        with self.precision.autocast():
            if self.compiled is not None:
                return self.compiled(videos).float()
            return self.network.get_video_embeddings(videos).visual_proj.float()

    @torch.no_grad()
    def texts(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        chunks = []
        for start in range(0, len(texts), batch_size):
            tokens = self.tokenizer(texts[start : start + batch_size])
            with self.precision.autocast():
                out = self.network.get_text_embeddings(
                    tokens["input_ids"].to(self.device), tokens["attention_mask"].to(self.device)
                )
            chunks.append(out.text_proj.float().cpu())
        return torch.cat(chunks) if chunks else torch.empty(0, self.network.config.embed_dim)


def cache_fingerprint(cfg: SingleDatasetConfig, encoder: Encoder | None) -> dict[str, str]:
    """What an embedding cache must match: the dataset config as written, and the weights when known."""
    fingerprint = {"dataset": embedding_cache.digest(CONVERTER.unstructure(cfg))}
    if encoder is not None:
        fingerprint["model"] = embedding_cache.weights_digest(export_state_dict(encoder.network))
    return fingerprint


def report_skips(skips: SkipLog, folder: Path) -> None:
    """Say at the end how many samples were skipped and why, and write the list next to the outputs."""
    path = skips.write_json(folder / "skipped_samples.json")
    if skips.total:
        logger.warning("%s (list: %s)", skips.summary(), path)
    else:
        logger.info("no samples were skipped")
