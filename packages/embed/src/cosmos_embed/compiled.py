"""The video path of a network under ``torch.compile`` (``model.compile``), at one fixed batch shape.

Compiled graphs are specialised to the shapes they first see (``dynamic=False``): a corpus encodes
every batch at the spec's ``batch_size`` except the last, so that one is padded with zero clips up to
the batch size seen before and the padding rows are cut off the output. Clips do not interact in the
video path (eval mode has no batch statistics; attention stays within a clip), so padding changes no
embedding, and one graph serves the whole corpus instead of a recompile for the last batch.

CUDA graphs come only with the ``reduce-overhead`` mode, chosen by ``COSMOS_EMBED_COMPILE_MODE``
(documented in ``model.compile``'s help): it replays whole recorded forwards, which pays off when
kernel launches dominate (small batches on a fast GPU) and needs the fixed shapes above. Its outputs
live in a memory pool that the next replay overwrites, so each output is cloned before it is returned.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any

import torch

logger = logging.getLogger("cosmos.embed")

MODE_VARIABLE = "COSMOS_EMBED_COMPILE_MODE"
MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")


def compile_mode(device: torch.device, requested: str | None = None) -> str:
    """The ``torch.compile`` mode: ``requested``, else ``$COSMOS_EMBED_COMPILE_MODE``, else ``default``.

    A CUDA-graph mode off CUDA falls back to ``default`` with a warning (there is nothing to graph).
    """
    mode = requested or os.environ.get(MODE_VARIABLE) or "default"
    if mode not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={mode!r}: choose one of {', '.join(MODES)}")
    if mode in CUDA_GRAPH_MODES and device.type != "cuda":
        logger.warning("compile mode %s records CUDA graphs, which %s cannot run; using default", mode, device)
        mode = "default"
    return mode


class CompiledVideoPath:
    """``videos [B, T, 3, H, W] -> visual_proj [B, E]`` of a network, compiled for one batch shape.

    :param network: the (eval-mode) network whose ``get_video_embeddings`` is compiled.
    :param mode: a ``torch.compile`` mode (:func:`compile_mode`).
    :param backend: the ``torch.compile`` backend; ``inductor`` generates kernels, tests use ``aot_eager``.
    """

    def __init__(self, network: Any, mode: str = "default", backend: str = "inductor") -> None:
        self.mode = mode
        self.backend = backend
        self.batch_rows: int | None = None
        self._graphs = mode in CUDA_GRAPH_MODES

        def visual_proj(videos: torch.Tensor) -> torch.Tensor:
            return network.get_video_embeddings(videos).visual_proj

        options = {"mode": mode} if backend == "inductor" else {}
        self._compiled: Callable[[torch.Tensor], torch.Tensor] = torch.compile(
            visual_proj, backend=backend, dynamic=False, **options
        )

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        rows = int(videos.shape[0])
        if self.batch_rows is None or rows > self.batch_rows:
            self.batch_rows = rows  # a larger batch compiles once more and becomes the shape to pad to
        if rows < self.batch_rows:
            padding = videos.new_zeros((self.batch_rows - rows, *videos.shape[1:]))
            videos = torch.cat([videos, padding])
        if self._graphs:
            torch.compiler.cudagraph_mark_step_begin()
        out = self._compiled(videos)[:rows]
        return out.clone() if self._graphs else out


def compile_usable(device: torch.device) -> str | None:
    """Why ``torch.compile`` with inductor cannot run on ``device`` here, or None when it can.

    Inductor needs a C++ compiler for CPU kernels and Triton for CUDA ones.
    """
    if not hasattr(torch, "compile"):
        return "this torch has no torch.compile"
    if device.type == "cuda":  # triton ships with CUDA builds of torch; look for it without importing it
        return None if importlib.util.find_spec("triton") else "inductor needs triton for CUDA kernels"
    from shutil import which

    compiler = os.environ.get("CXX") or "c++"
    return None if which(compiler) or which("g++") or which("clang++") else "inductor needs a C++ compiler"
