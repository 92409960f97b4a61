"""Bad config values through the real ``cosmos-run`` CLI: one ``cosmos-run: error:`` naming the path, exit 2,
no traceback, nothing started."""

from __future__ import annotations

import pytest
from cosmos_core.cli import main

pytestmark = pytest.mark.integration

BAD_VALUES = [
    ("dataset.train_dataset.batch_size", "0", "batch_size must be at least 1, got 0"),
    ("dataset.train_dataset.workers", "-3", "workers must be 0 or more, got -3"),
    ("dataset.train_dataset.num_video_frames", "0", "num_video_frames must be at least 1, got 0"),
    ("dataset.train_dataset.resolution", "[64]", "resolution must be [H, W] with two positive integers, got [64]"),
    ("dataset.train_dataset.caption_field", "[]", "caption_field must be a metadata field name or a non-empty list"),
    ("train.optim.lr", ".nan", "expected a finite number, got nan"),
]


def spec_setting(path: str, value: str) -> str:
    """``a.b.c`` and ``v`` as nested YAML mappings."""
    *parents, leaf = path.split(".")
    lines = [f"{'  ' * depth}{part}:" for depth, part in enumerate(parents)]
    return "\n".join([*lines, f"{'  ' * len(parents)}{leaf}: {value}"]) + "\n"


def assert_config_error(code: int, stderr: str, expected: str) -> None:
    assert code == 2
    assert stderr.startswith("cosmos-run: error: invalid config")
    assert expected in stderr
    assert "Traceback" not in stderr and "cattrs" not in stderr


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES)
def test_bad_override_is_refused_before_any_work(tmp_path, capsys, path, value, message):
    results = tmp_path / "results"
    code = main(["cosmos-embed1", "train", "-e", "finetune_tiny", f"results_dir={results}", f"{path}={value}"])
    assert_config_error(code, capsys.readouterr().err, f"{path}: {message}")
    assert not results.exists()


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES)
def test_bad_value_in_a_spec_file_is_refused_before_any_work(tmp_path, capsys, path, value, message):
    results = tmp_path / "results"
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"results_dir: {results}\n" + spec_setting(path, value))
    code = main(["cosmos-embed1", "train", "-e", str(spec)])
    stderr = capsys.readouterr().err
    assert_config_error(code, stderr, f"{path}: {message}")
    assert str(spec) in stderr
    assert not results.exists()


def test_every_bad_value_is_reported_in_one_run(tmp_path, capsys):
    overrides = [f"{path}={value}" for path, value, _ in BAD_VALUES]
    code = main(["cosmos-embed1", "train", "-e", "finetune_tiny", f"results_dir={tmp_path / 'r'}", *overrides])
    stderr = capsys.readouterr().err
    for path, _, message in BAD_VALUES:
        assert_config_error(code, stderr, f"{path}: {message}")


def test_a_spec_file_with_a_duplicate_key_names_file_and_line(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("train:\n  optim:\n    lr: 0.1\n    lr: 0.2\n")
    code = main(["cosmos-embed1", "train", "-e", str(spec)])
    assert_config_error(code, capsys.readouterr().err, f"{spec}:4: duplicate key 'lr' (first at line 3)")


def test_a_spec_file_float_in_exponent_form_is_a_float(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("train:\n  optim: {lr: 2e-3, weight_decay: 1E-5}\n")
    assert main(["show", "cosmos-embed1", "train", "-e", str(spec)]) == 0
    shown = capsys.readouterr().out
    assert "lr: 0.002" in shown and "weight_decay: 1.0e-05" in shown
