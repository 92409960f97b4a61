"""Config checks of the curation actions, run before any work starts (no heavy imports)."""

from __future__ import annotations

from typing import Any

from cosmos_datasets.selection import dataset_problems

from cosmos_embed.config import ExperimentConfig


def validate_index(config: ExperimentConfig, ctx: Any) -> list[str]:
    problems = dataset_problems(config.dataset.inference_dataset, "dataset.inference_dataset", ctx.host.datasets)
    if not config.inference.checkpoint:
        problems.append("inference.checkpoint is required: the index holds this checkpoint's video embeddings")
    problems += _uri(config)
    if config.index.write_every <= 0:
        problems.append(f"index.write_every must be positive, got {config.index.write_every}")
    if config.index.engine == "ray" and config.ray.num_actors <= 0:
        problems.append(f"ray.num_actors must be positive, got {config.ray.num_actors}")
    return problems


def validate_dedup(config: ExperimentConfig, ctx: Any) -> list[str]:
    settings = config.dedup
    problems = _uri(config)
    for eps in [settings.eps, *settings.eps_table]:
        if not 0.0 <= eps < 2.0:
            problems.append(f"dedup.eps and dedup.eps_table take cosine distances in [0, 2), got {eps}")
    if settings.num_clusters is not None and settings.num_clusters <= 0:
        problems.append(
            f"dedup.num_clusters must be positive (or null for about sqrt(clips)), got {settings.num_clusters}"
        )
    return problems


def validate_filter(config: ExperimentConfig, ctx: Any) -> list[str]:
    problems = _uri(config)
    if not config.inference.checkpoint:
        problems.append("inference.checkpoint is required to encode filter.positive_texts")
    if not config.filter.positive_texts:
        problems.append("filter.positive_texts is empty: set filter.positive_texts='[\"a car crash\"]'")
    return problems


def _uri(config: ExperimentConfig) -> list[str]:
    return [] if config.index.uri else ["index.uri is required: the folder (or object-store URI) of the index"]
