from typing import Any, Literal

import attrs
import pytest
from cosmos_core.config import option
from cosmos_core.config.loader import (
    ConfigError,
    apply_overrides,
    load_config,
    parse_overrides,
    read_yaml,
    schema_paths,
    structure,
    write_yaml,
)


@attrs.frozen
class Optim:
    lr: float = option(1e-5, help="lr")
    betas: list[float] = option(help="betas", factory=lambda: [0.9, 0.98])
    policy: Literal["cosine", "linear"] = option("cosine", help="policy")


@attrs.frozen
class Train:
    max_iter: int = option(10, help="iterations")
    optim: Optim = option(help="optim", factory=Optim)
    callbacks: dict[str, Any] = option(help="callbacks", factory=dict)
    checkpoint: str | None = option(None, help="checkpoint")
    caption_field: str | list[str] = option("anomaly_type", help="field(s)")
    enabled: bool = option(False, help="flag")


@attrs.frozen
class Experiment:
    results_dir: str = option("/results", help="where")
    train: Train = option(help="train", factory=Train)


def test_defaults_and_overrides_structure():
    overrides = parse_overrides(
        ["train.optim.lr=1e-4", "train.caption_field=[what, why]", "train.callbacks={ema: {decay: 0.9}}"]
    )
    config = structure(Experiment, apply_overrides({}, overrides))
    assert config.train.optim.lr == pytest.approx(1e-4)
    assert config.train.caption_field == ["what", "why"]
    assert config.train.callbacks == {"ema": {"decay": 0.9}}
    assert config.results_dir == "/results"


def test_every_problem_reported_at_once_with_paths():
    overrides = parse_overrides(
        [
            "train.max_itr=3",
            "train.optim.lr=fast",
            "train.optim.policy=step",
            "train.max_iter=1.5",
            "train.enabled=yes please",
            "train.optim.betas=[0.9, x]",
        ]
    )
    with pytest.raises(ConfigError) as info:
        structure(Experiment, apply_overrides({}, overrides))
    problems = info.value.problems
    assert "train.max_itr: unknown config key; did you mean 'train.max_iter'?" in problems
    assert any(p.startswith("train.optim.lr: expected float") for p in problems)
    assert any(p.startswith("train.optim.policy: expected one of 'cosine', 'linear'") for p in problems)
    assert any(p.startswith("train.max_iter: expected int, got 1.5") for p in problems)
    assert any(p.startswith("train.enabled: expected bool") for p in problems)
    assert any(p.startswith("train.optim.betas[1]: expected float") for p in problems)
    assert len(problems) == 6


def test_unknown_key_found_by_leaf_name_when_prefix_is_wrong():
    with pytest.raises(ConfigError) as info:
        structure(Experiment, {"optim": {"lr": 1.0}})
    assert info.value.problems == ["optim: unknown config key; did you mean 'train.optim'?"]


def test_malformed_override_is_rejected():
    with pytest.raises(ConfigError, match="not of the form dotted.path=value"):
        parse_overrides(["train.max_iter"])


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("train:\n  max_iter: 3\n  optim: [1,\n")
    with pytest.raises(ConfigError) as info:
        read_yaml(spec)
    assert f"{spec}:" in info.value.problems[0]


def test_spec_then_overrides_and_round_trip(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("results_dir: /tmp/out\ntrain:\n  max_iter: 7\n")
    config = load_config(Experiment, spec, ["train.max_iter=9"])
    assert (config.results_dir, config.train.max_iter) == ("/tmp/out", 9)
    written = write_yaml(config, tmp_path / "experiment.yaml")
    assert load_config(Experiment, written) == config


def test_schema_paths_cover_nested_fields():
    paths = schema_paths(Experiment)
    assert "train.optim.betas" in paths and "results_dir" in paths


@attrs.frozen
class WithSecret:
    api_key: str = option("", help="key", secret=True)
    train: Train = option(help="train", factory=Train)


def test_secrets_are_redacted_when_written(tmp_path):
    config = structure(WithSecret, {"api_key": "SECRET123"})
    assert config.api_key == "SECRET123"  # the run itself still has it
    text = write_yaml(config, tmp_path / "experiment.yaml").read_text()
    assert "SECRET123" not in text and "api_key: <redacted>" in text
    assert "api_key: ''" in write_yaml(WithSecret(), tmp_path / "empty.yaml").read_text()
