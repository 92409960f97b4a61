"""A new user's first runs with their own data, through the real CLI: the bundled specs hold settings
only, a missing validation set is said once, a missing file is named by the config path that pointed
at it before any model is built, and ``-e`` is required as in the seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cosmos_core.cli import main
from cosmos_datasets.samples import generate_sample_dataset
from embed_commands import split_overrides

pytestmark = pytest.mark.integration

SPECS = Path(__file__).parents[1] / "packages" / "embed" / "src" / "cosmos_embed" / "specs"
DATA_FIELDS = ("metadata", "data_root", "mp4_urls")


@pytest.fixture(scope="module")
def own_data(tmp_path_factory) -> Path:
    return generate_sample_dataset(tmp_path_factory.mktemp("my_vad_r1"), num_videos=12, frames=8).parent


def own_train_set(data: Path) -> list[str]:
    """The seed's LoRA example names only the training set."""
    return split_overrides("train_dataset", data)


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_specs_name_no_data_files(spec):
    data = yaml.safe_load(spec.read_text())
    named = {
        f"dataset.{split}.{field}": value
        for split, settings in (data.get("dataset") or {}).items()
        for field, value in settings.items()
        if field in DATA_FIELDS and value
    }
    videos = ((data.get("inference") or {}).get("query") or {}).get("input_videos")
    assert named == {} and not videos


def test_training_on_ones_own_train_set_runs_without_validation_and_says_so_once(own_data, tmp_path):
    results = tmp_path / "results"
    argv = ["cosmos-embed1", "train", "-e", "finetune_tiny", f"results_dir={results}", "train.max_iter=2"]
    assert main([*argv, "train.validation_iter=1", "dataset.train_dataset.workers=0", *own_train_set(own_data)]) == 0
    log = (results / "train" / "console.log").read_text()
    assert log.count("no validation set configured (dataset.val_dataset.metadata is not set)") == 1
    assert "validation at iter" not in log
    assert (results / "train" / "cosmos_embed1_model_latest.pth").is_file()


def test_a_missing_validation_file_is_named_before_the_model_is_built(own_data, tmp_path, capsys):
    results = tmp_path / "results"
    missing = tmp_path / "val.json"
    argv = ["cosmos-embed1", "train", "-e", "finetune_tiny", f"results_dir={results}", *own_train_set(own_data)]
    code = main([*argv, f"dataset.val_dataset.metadata={missing}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"dataset.val_dataset.metadata: {missing}: no such file" in err
    assert not results.exists()  # refused while the config was checked: no run folder, no network


def test_an_unset_training_set_names_its_config_path(tmp_path, capsys):
    code = main(["cosmos-embed1", "train", "-e", "finetune_tiny", f"results_dir={tmp_path / 'r'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "dataset.train_dataset.metadata is not set; dataset type 'vad_r1' needs it" in err


@pytest.mark.parametrize(
    ("action", "spec", "override", "named"),
    [
        ("inference", "inference_tiny", "inference.query.input_videos=[{missing}]", "inference.query.input_videos[0]"),
        (
            "train",
            "finetune_tiny",
            "train.resume_training_checkpoint_path={missing}",
            "train.resume_training_checkpoint_path",
        ),
        ("train", "finetune_tiny", "model.pretrained_model_path={missing}", "model.pretrained_model_path"),
        ("evaluate", "evaluate_tiny", "evaluate.checkpoint={missing}", "evaluate.checkpoint"),
        ("inference", "inference_tiny", "inference.checkpoint={missing}", "inference.checkpoint"),
    ],
)
def test_every_file_not_found_names_the_config_path(own_data, tmp_path, capsys, action, spec, override, named):
    missing = tmp_path / "nowhere" / "file.pth"
    split = {"train": "train_dataset", "evaluate": "test_dataset", "inference": "inference_dataset"}[action]
    data = split_overrides(split, own_data)
    code = main(
        [
            "cosmos-embed1",
            action,
            "-e",
            spec,
            f"results_dir={tmp_path / 'r'}",
            *data,
            f"dataset.{split}.workers=0",
            override.format(missing=missing),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if str(missing) in line]
    assert named in line


@pytest.mark.parametrize("action", ["train", "evaluate", "inference", "export", "summary"])
def test_the_experiment_spec_is_required(action, tmp_path, capsys):
    code = main(["cosmos-embed1", action, f"results_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"-e SPEC is required: 'cosmos-run cosmos-embed1 {action} -e SPEC [overrides]'" in err
    assert "finetune_tiny" in err and not any(tmp_path.iterdir())
