"""``validation_eval``: top-K hit rates (and MRR) on the validation set whenever training validates.

After the loop's loss validation, the validation clips are encoded (split across the data-parallel
ranks, :mod:`cosmos_embed.corpus`; the EMA weights when training keeps them and
``model.use_ema_weights``), each clip ranks the class texts (``dataset.label_names()``), and the
rates are published as ``val/top<K>_hit_rate`` and ``val/mrr`` (console, W&B) and appended to
``metrics_json_path`` (``auto``: ``<results_dir>/train/validation_metrics.json``; null: no file). With
``embedding_visualization`` a UMAP picture is written under ``<results_dir>/train/visuals/``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import attrs
import torch
from cosmos_core.io import write_json_atomically
from cosmos_core.training.callbacks import Callback
from cosmos_core.training.precision import resolve_precision
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.skips import SkipLog

from cosmos_embed.corpus import encode_dataset
from cosmos_embed.ema import EMAWeights
from cosmos_embed.retrieval import hit_rates
from cosmos_embed.tasks.common import Encoder
from cosmos_embed.text.tokenizer import TextTokenizer

logger = logging.getLogger("cosmos.train")

AUTO = "auto"
METRICS_FILE = "validation_metrics.json"


@attrs.frozen
class ValidationData:
    """What the train task hands ``validation_eval``: the validation split and how to encode it."""

    dataset: Any
    config: SingleDatasetConfig
    tokenizer: TextTokenizer
    precision: str
    ema: EMAWeights | None = None
    """The EMA weights to evaluate with (None: the raw ones)."""


class ValidationEval(Callback):
    def __init__(
        self,
        top_k_values: list[int] | None = None,
        max_eval_samples: int = 2000,
        metrics_json_path: str | None = AUTO,
        embedding_visualization: bool = False,
        data: ValidationData | None = None,
    ) -> None:
        self.top_k_values = list(top_k_values or [1, 3, 5, 10])
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.top_k_values):
            raise ValueError(f"top_k_values must be positive integers, got {self.top_k_values}")
        if isinstance(max_eval_samples, bool) or not isinstance(max_eval_samples, int) or max_eval_samples < 1:
            raise ValueError(f"max_eval_samples must be a positive integer, got {max_eval_samples!r}")
        self.max_eval_samples = max_eval_samples
        self.metrics_json_path = metrics_json_path
        self.embedding_visualization = bool(embedding_visualization)
        self.data = data

    def on_validation_end(self, trainer, iteration, metrics) -> None:
        if self.data is None:
            raise RuntimeError("validation_eval was built without its validation data (the train task binds it)")
        rates = self._rates(trainer)
        trainer.log_values({f"val/{name}": value for name, value in rates.items()})
        if not trainer.is_main:
            return
        shown = " | ".join(f"{name} {value:.4f}" for name, value in rates.items())
        logger.info("validation retrieval at iter %d: %s", iteration, shown)
        path = self._metrics_path(trainer)
        if path is not None:
            history = json.loads(path.read_text()) if path.is_file() else []
            write_json_atomically(path, [*history, {"iteration": iteration, **rates}])

    def _rates(self, trainer) -> dict[str, float]:
        from torch.distributed.tensor import DTensor

        data, module = self.data, trainer.module
        device = trainer.dist.device
        encoder = Encoder(module, data.tokenizer, device, resolve_precision(data.precision, device, "train.precision"))
        sharded = any(isinstance(p, DTensor) for p in module.parameters())
        was_training = module.training
        module.eval()
        try:
            with data.ema.applied() if data.ema is not None else contextlib.nullcontext():
                videos, records = encode_dataset(
                    encoder,
                    data.dataset,
                    data.config,
                    SkipLog(),
                    max_samples=self.max_eval_samples,
                    dist=trainer.dist,
                    lockstep=sharded,
                )
                class_names = data.dataset.label_names()
                class_texts = encoder.texts(class_names)
        finally:
            module.train(was_training)
        labels = torch.tensor([record["label"] for record in records])
        rates = hit_rates(videos, class_texts, labels, self.top_k_values)
        if self.embedding_visualization and trainer.is_main:
            from cosmos_embed.umap_plot import write_umap_png
            from cosmos_embed.visualizers import VISUALS_DIR

            path = Path(trainer.output_dir) / VISUALS_DIR / f"umap_{trainer.iteration:07d}.png"
            write_umap_png(path, videos, labels, class_texts, class_names)
        return rates

    def _metrics_path(self, trainer) -> Path | None:
        if self.metrics_json_path is None:
            return None
        if self.metrics_json_path == AUTO:
            return Path(trainer.output_dir) / METRICS_FILE
        return Path(self.metrics_json_path)
