"""The export action's inputs and outputs: where it writes, and everything checked before any work.

Importing this module imports no torch (the launcher validates before an action starts); reading a
checkpoint's header imports it inside :func:`checkpoint_problems`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from cosmos_embed.config import FAMILY, ExperimentConfig
from cosmos_embed.model.hub import WeightsNotFoundError, local_snapshot, looks_like_repo_id

# Keys every Cosmos-Embed1 state dict has (the Q-Former also under LAVIS' spelling).
EMBED_KEY_PREFIXES = ("visual_encoder.", "qformer.", "Qformer.")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
ADAPTER_MARKERS = ("lora_", "modules_to_save")
TRAIN_HINT = (
    f"pass a checkpoint written by 'cosmos-run {FAMILY} train' (<results_dir>/train/cosmos_embed1_model_latest.pth)"
)
ONNX_EXTRA_HINT = "pip install 'cosmos-export[onnx]'"


def output_setting(config: ExperimentConfig) -> str:
    return "export.hf_output_dir" if config.export.mode == "huggingface" else "export.onnx_file"


def given_output(config: ExperimentConfig) -> str | None:
    """The output path set for the chosen mode (the other mode's setting is not used)."""
    settings = config.export
    return settings.hf_output_dir if settings.mode == "huggingface" else settings.onnx_file


def export_output(config: ExperimentConfig) -> Path:
    """``export.onnx_file`` / ``export.hf_output_dir``, or derived from the checkpoint path and mode:
    ``<checkpoint folder>/<checkpoint name>_<mode>.onnx`` or ``.../<checkpoint name>_hf``; a Hugging Face
    repo id as checkpoint derives under ``<results_dir>/export/``."""
    settings = config.export
    given = given_output(config)
    if given:
        return Path(given).expanduser()
    if not settings.checkpoint:
        raise ValueError("export.checkpoint is needed to derive the output path")
    checkpoint = Path(settings.checkpoint).expanduser()
    if checkpoint.exists():
        stem = checkpoint.stem if checkpoint.is_file() else checkpoint.name
        base = checkpoint.parent / stem
    else:
        base = Path(config.results_dir) / "export" / checkpoint.name
    if settings.mode == "huggingface":
        return base.with_name(base.name + "_hf")
    return base.with_name(f"{base.name}_{settings.mode}.onnx")


def export_problems(config: ExperimentConfig, host: Any) -> list[str]:
    """Every problem of the export section, each naming its config path and what to do."""
    settings = config.export
    problems: list[str] = []
    if not settings.checkpoint:
        problems.append(f"export.checkpoint is required: {TRAIN_HINT}")
    else:
        problems += checkpoint_problems(settings.checkpoint)
    if settings.mode not in host.exporters:
        problems.append(
            f"export.mode={settings.mode}: no exporter is installed for it "
            f"(installed: {', '.join(host.exporters.names()) or 'none'}); exporters come with cosmos-export: "
            f"{ONNX_EXTRA_HINT}"
        )
        return problems
    output = None
    if settings.checkpoint or given_output(config):
        output = export_output(config)
        problem = output_problem(output, settings.mode == "huggingface", output_setting(config))
        if problem:
            problems.append(problem)
    problems += host.exporters.get(settings.mode).problems(settings, output)
    return problems


def output_problem(path: Path, is_folder: bool, setting: str) -> str | None:
    """Why ``path`` cannot be written (or its folder created), or None."""
    what = "a folder" if is_folder else "an .onnx file"
    if path.exists() and path.is_dir() != is_folder:
        return f"{setting}={path} exists and is not {what}; name {what}"
    ancestor = path if is_folder and path.is_dir() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{setting}={path} cannot be created: {ancestor} is a file; choose another path"
    if not _can_write_in(ancestor) or (path.is_file() and not os.access(path, os.W_OK)):
        return f"{setting}={path}: cannot write in {ancestor}; choose a writable path"
    return None


def _can_write_in(folder: Path) -> bool:
    """Really create (and remove) a file there: permission bits say yes for root and on /proc or /sys."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cosmos-run-write-check-"):
            return True
    except OSError:
        return False


def checkpoint_problems(checkpoint: str) -> list[str]:
    """Whether ``checkpoint`` exists and holds Cosmos-Embed1 weights, from its header or key list only."""
    setting = f"export.checkpoint={checkpoint}"
    path = Path(checkpoint).expanduser()
    if not path.exists():
        if not looks_like_repo_id(checkpoint):
            return [
                f"{setting}: no such file or folder; {TRAIN_HINT}, a .safetensors file or a Hugging Face-layout folder"
            ]
        try:
            path = local_snapshot(checkpoint, "export.checkpoint")
        except WeightsNotFoundError as error:
            return [str(error)]
    try:
        family, keys = _peek(path)
    except Exception as error:  # torch/safetensors/json raise many types for an unreadable file
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return [f"{setting}: cannot be read as weights ({type(error).__name__}: {detail}); {TRAIN_HINT}"]
    if family is not None and family != FAMILY:
        return [f"{setting} is a {family} checkpoint, not a {FAMILY} one; {TRAIN_HINT}"]
    if keys is None:
        return [
            f"{setting}: the folder holds no model.safetensors.index.json, no model.safetensors and not exactly "
            "one .pth/.pt/.bin file"
        ]
    keys = _strip_wrappers(keys)
    if keys and all(any(marker in key for marker in ADAPTER_MARKERS) for key in keys):
        return [
            f"{setting} holds only LoRA adapter weights, without the network they adapt; export needs the full "
            f"model: {TRAIN_HINT} (it holds base and adapter weights, merged at export)"
        ]
    if not any(key.startswith(EMBED_KEY_PREFIXES) for key in keys):
        prefixes = sorted({key.split(".", 1)[0] + "." for key in keys})[:5]
        return [
            f"{setting} does not hold {FAMILY} weights (no visual_encoder.* / qformer.* keys; its keys start with "
            f"{', '.join(prefixes) or 'nothing'}); {TRAIN_HINT}"
        ]
    return []


def _strip_wrappers(keys: list[str]) -> list[str]:
    for wrapper in WRAPPER_PREFIXES:
        if keys and all(key.startswith(wrapper) for key in keys):
            keys = [key[len(wrapper) :] for key in keys]
    return keys


def _peek(path: Path) -> tuple[str | None, list[str] | None]:
    """(family from a cosmos-run checkpoint's metadata or None, tensor keys or None when none are found)."""
    import json

    if path.is_dir():
        index = path / "model.safetensors.index.json"
        if index.is_file():
            return None, list(json.loads(index.read_text())["weight_map"])
        if (path / "model.safetensors").is_file():
            return _peek(path / "model.safetensors")
        torch_files = [p for suffix in ("*.pth", "*.pt", "*.bin") for p in path.glob(suffix)]
        return _peek(torch_files[0]) if len(torch_files) == 1 else (None, None)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return None, list(handle.keys())
    return _peek_torch_file(path)


def _peek_torch_file(path: Path) -> tuple[str | None, list[str]]:
    import torch
    from cosmos_core.training.checkpoint import CHECKPOINT_FORMAT

    try:  # mmap: tensors stay on disk, only the structure is read
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # files in torch's legacy (non-zip) format cannot be memory-mapped
        payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict):
        raise ValueError(f"expected a dict of tensors, found {type(payload).__name__}")
    if payload.get("format") == CHECKPOINT_FORMAT:
        metadata = payload.get("metadata") or {}
        return metadata.get("family") or "unknown-family", list(payload.get("model") or {})
    for key in ("model", "state_dict"):
        if isinstance(payload.get(key), dict):
            payload = payload[key]
            break
    return None, [key for key, value in payload.items() if isinstance(value, torch.Tensor)]
