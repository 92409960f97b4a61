"""Semantic checks of the train section."""

from __future__ import annotations

import attrs
from cosmos_core.config.common import OptimConfig, TrainConfig
from cosmos_core.training import validate_train_config


def test_defaults_are_valid():
    assert validate_train_config(TrainConfig()) == []


def test_cosine_needs_decay_beyond_warmup():
    cfg = TrainConfig(optim=OptimConfig(warmup_steps=1000, lr_decay_iters=1000, policy="cosine"))
    (problem,) = validate_train_config(cfg)
    assert problem.startswith("train.optim.lr_decay_iters (1000) must be greater than train.optim.warmup_steps")
    assert "cosine" in problem


def test_constant_policy_ignores_lr_decay_iters():
    cfg = TrainConfig(optim=OptimConfig(warmup_steps=1000, lr_decay_iters=10, policy="constant"))
    assert validate_train_config(cfg) == []


def test_every_problem_is_reported_with_its_path():
    cfg = attrs.evolve(
        TrainConfig(),
        max_iter=0,
        checkpoint_iter=-1,
        validation_iter=0,
        grad_accum_steps=0,
        max_val_batches=0,
    )
    problems = validate_train_config(cfg)
    assert [p.split(" ")[0] for p in problems] == [
        "train.max_iter",
        "train.checkpoint_iter",
        "train.validation_iter",
        "train.grad_accum_steps",
        "train.max_val_batches",
    ]


def test_prefix_names_the_section():
    cfg = TrainConfig(optim=OptimConfig(lr=-1.0, betas=[0.9]))
    assert validate_train_config(cfg, prefix="stage2.train") == [
        "stage2.train.optim.lr must be >= 0, got -1.0",
        "stage2.train.optim.betas must be two numbers in [0, 1), got [0.9]",
    ]
