"""Reading Cosmos-Embed1 weights into a ``CosmosEmbed1``, and the state dict to write for export.

Accepted sources (``model.pretrained_model_path``): a ``.pth``/``.pt`` file (a raw state dict or a dict
with ``model`` / ``state_dict``; read with ``weights_only=True``), a ``.safetensors`` file, a Hugging
Face-layout directory (``model.safetensors.index.json`` + shards, or one ``model.safetensors``), or a
Hugging Face repo id found in the local cache.

Loading goes through ``nn.Module.load_state_dict``, so the model's pre-hooks convert what differs from
our layout: ``pos_embed`` at another grid, ``q_bias``/``v_bias``, the dropped or duplicated tied LM
decoder weight, BERT's ``position_ids``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from cosmos_core.errors import UserInputError
from cosmos_core.training.checkpoint import torch_load_error_detail
from torch import nn

from cosmos_embed.model.config import NetworkConfig
from cosmos_embed.model.embed1 import QFORMER_PREFIX, CosmosEmbed1
from cosmos_embed.model.hub import WeightsNotFoundError, cache_hint, local_snapshot, looks_like_repo_id

StateDict = dict[str, torch.Tensor]

SAFETENSORS_INDEX = "model.safetensors.index.json"
SAFETENSORS_SINGLE = "model.safetensors"
POS_EMBED_KEY = "visual_encoder.pos_embed"
TIED_DECODER_KEY = QFORMER_PREFIX + "cls.predictions.decoder.weight"
# Other spellings of our prefixes, rewritten on load: LAVIS/BLIP-2 call the Q-Former ``Qformer`` and the
# matching head ``itm_head`` (the released names are unverified, embed1.md §3.5).
KEY_ALIASES = {"Qformer.": QFORMER_PREFIX, "itm_head.": "itm_proj."}
# Wrappers that prefix every key: DDP (``module.``) and torch.compile (``_orig_mod.``).
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
NON_PERSISTENT = ("normalization_mean", "normalization_std")
SHOWN_KEYS = 5
REEXPORT_HINT = "re-save the weights as a plain state dict (.pth) or a .safetensors file"

logger = logging.getLogger("cosmos.embed")


class CheckpointMismatchError(UserInputError, RuntimeError):
    """A strict load found missing or unexpected keys."""


class WeightsReadError(UserInputError, ValueError):
    """A weights file that exists but cannot be read as a state dict: truncated, corrupt or holding objects."""


def read_state_dict(source: str | Path, purpose: str = "model.pretrained_model_path") -> StateDict:
    """The raw tensors of ``source`` (file, HF-layout directory or cached repo id), on CPU.

    ``purpose`` is the config path that named ``source``; not-found errors start with it.
    """
    path = Path(source)
    missing_hint = "name the weights file itself, or a folder that holds one of these"
    if not path.exists():
        if looks_like_repo_id(str(source)):
            path = local_snapshot(str(source), purpose)
            missing_hint = cache_hint(str(source))
        else:
            raise WeightsNotFoundError(
                f"{purpose}: weights {str(source)!r} not found: give a .pth/.pt/.safetensors file, a "
                "Hugging Face-layout directory, or a repo id like nvidia/Cosmos-Embed1-224p that is in the "
                "local cache"
            )
    if path.is_dir():
        return _read_directory(path, purpose, missing_hint)
    if path.suffix == ".safetensors":
        return _read_safetensors_file(path)
    return _read_torch_file(path)


def _read_directory(directory: Path, purpose: str, missing_hint: str) -> StateDict:
    """The tensors of an HF-layout folder; ``purpose`` and ``missing_hint`` frame the not-found errors."""
    index = directory / SAFETENSORS_INDEX
    if index.is_file():
        state: StateDict = {}
        for shard in sorted(set(_weight_map(index).values())):
            shard_path = directory / shard
            if not shard_path.is_file():
                raise WeightsNotFoundError(
                    f"{purpose}: {index} names shard {shard}, which is not in {directory}; {missing_hint}"
                )
            state.update(_read_safetensors_file(shard_path))
        return state
    if (directory / SAFETENSORS_SINGLE).is_file():
        return _read_safetensors_file(directory / SAFETENSORS_SINGLE)
    torch_files = sorted(directory.glob("*.pth")) + sorted(directory.glob("*.pt")) + sorted(directory.glob("*.bin"))
    if len(torch_files) == 1:
        return _read_torch_file(torch_files[0])
    raise WeightsNotFoundError(
        f"{purpose}: {directory} holds no {SAFETENSORS_INDEX}, no {SAFETENSORS_SINGLE} and not exactly one "
        f".pth/.pt/.bin file; {missing_hint}"
    )


def _weight_map(index: Path) -> dict[str, str]:
    """The tensor name -> shard file map of a ``model.safetensors.index.json``."""
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise WeightsReadError(
            f"{index}: not a readable safetensors index ({error.__class__.__name__}: {error}); it must be JSON "
            'with a "weight_map" object mapping tensor names to shard files. Copy it again from the release.'
        ) from error
    if not isinstance(weight_map, dict) or not all(isinstance(shard, str) for shard in weight_map.values()):
        raise WeightsReadError(f'{index}: "weight_map" must map tensor names to shard file names')
    return weight_map


def _read_safetensors_file(path: Path) -> StateDict:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own SafetensorError, or OSError
        raise WeightsReadError(
            f"{path}: cannot read it as a safetensors file ({error.__class__.__name__}: {error}); the file is "
            "probably truncated or corrupt: copy or download it again"
        ) from error


def _read_torch_file(path: Path) -> StateDict:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ... for bad files
        raise WeightsReadError(
            f"{path}: cannot read it as a weights-only PyTorch checkpoint ({error.__class__.__name__}: "
            f"{torch_load_error_detail(error)}). A truncated or corrupt file must be copied again; cosmos-run "
            f"never unpickles arbitrary objects, so for a file holding other Python objects {REEXPORT_HINT}"
        ) from error
    if isinstance(loaded, dict):
        for key in ("model", "state_dict"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        found = type(loaded).__name__
        if isinstance(loaded, dict):
            odd = next(key for key, value in loaded.items() if not isinstance(value, torch.Tensor))
            found = f"a dict whose {odd!r} is a {type(loaded[odd]).__name__}"
        raise WeightsReadError(
            f"{path}: expected a state dict of tensors (or a dict holding one under 'model'/'state_dict'), "
            f"found {found}; {REEXPORT_HINT}"
        )
    return loaded


def normalize_keys(state: StateDict) -> StateDict:
    """Strip wrapper prefixes, rename prefix aliases (``KEY_ALIASES``), drop non-persistent buffers."""
    for wrapper in WRAPPER_PREFIXES:
        if state and all(key.startswith(wrapper) for key in state):
            state = {key[len(wrapper) :]: value for key, value in state.items()}
    renamed: StateDict = {}
    for key, value in state.items():
        if key in NON_PERSISTENT:
            continue
        for alias, ours in KEY_ALIASES.items():
            if key.startswith(alias):
                key = ours + key[len(alias) :]
        renamed[key] = value
    return renamed


def _listing(kind: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:SHOWN_KEYS]) + (", ..." if len(keys) > SHOWN_KEYS else "")
    return f"{len(keys)} {kind} key(s) ({shown})"


def load_state_dict_into(model: nn.Module, state: StateDict, strict: bool = True, source: str = "checkpoint"):
    """``model.load_state_dict`` with key normalisation and readable errors; returns missing/unexpected.

    With ``strict=False`` the keys that do not match are logged in one warning instead of raising.
    """
    state = normalize_keys(state)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shape mismatches raise even with strict=False
        raise CheckpointMismatchError(f"{source} does not fit the model: {error}") from error
    problems = []
    if result.missing_keys:
        problems.append(_listing("missing", result.missing_keys))
    if result.unexpected_keys:
        problems.append(_listing("unexpected", result.unexpected_keys))
    if problems and strict:
        raise CheckpointMismatchError(
            f"{source} does not match the model: " + "; ".join(problems) + ". Check that model.network matches "
            "the checkpoint (resolution, embed_dim, scale), or set model.pretrained_model_strict=false."
        )
    if problems:
        logger.warning(
            "%s loaded non-strictly: %s; missing ones keep their initial values, unexpected ones are ignored",
            source,
            "; ".join(problems),
        )
    return result


def load_pretrained(model: nn.Module, path: str | Path, strict: bool = True):
    """Load weights from ``path`` (see the module docstring); returns the missing/unexpected keys."""
    return load_state_dict_into(model, read_state_dict(path), strict=strict, source=str(path))


def export_state_dict(model: CosmosEmbed1) -> StateDict:
    """The state dict to save in the released layout.

    ``visual_encoder.pos_embed`` stays at the model's own grid (257 positions at 224p, 577 at 336p, 1025 at
    448p: the counts the published parameter totals imply), so an export reloads exactly; loading
    resamples any other stored grid, so weights stored at the 224-px grid load too. The tied LM decoder
    weight is stored as its own copy, like the released shards. The model must be plain: merge LoRA
    adapters first (``merge_lora``).
    """
    state = {key: value.detach() for key, value in model.state_dict().items()}
    adapter_keys = [key for key in state if "lora_" in key or ".base_layer." in key or "modules_to_save" in key]
    if adapter_keys:
        raise ValueError(
            f"the model still holds LoRA modules ({adapter_keys[0]}, ...); call "
            "cosmos_embed.model.lora.merge_lora(model) before exporting"
        )
    state[TIED_DECODER_KEY] = state[TIED_DECODER_KEY].clone()
    return state


def build_model(network: NetworkConfig, pretrained_model_path: str | None = None, strict: bool = True) -> CosmosEmbed1:
    """A ``CosmosEmbed1`` for ``network``, with weights.

    With ``pretrained_model_path`` the whole model loads from it. Without, the Q-Former starts from BERT
    when ``network.pretrained_text_encoder`` or ``network.qformer_pretrain_ckpt`` asks for it (the BERT
    weights are skipped when a full checkpoint follows, so a cached BERT is only needed when used).
    """
    from cosmos_embed.model.bert_init import DEFAULT_BERT_PURPOSE, DEFAULT_BERT_REPO, load_bert_into_qformer

    model = CosmosEmbed1(network)
    if pretrained_model_path:
        load_pretrained(model, pretrained_model_path, strict=strict)
    elif network.qformer_pretrain_ckpt:
        load_bert_into_qformer(model, network.qformer_pretrain_ckpt)
    elif network.pretrained_text_encoder:
        load_bert_into_qformer(model, DEFAULT_BERT_REPO, purpose=DEFAULT_BERT_PURPOSE)
    return model
