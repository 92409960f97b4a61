"""The third-party plugin installs into a clean virtual environment from wheels and works there by name.

Wheels of cosmos-core, cosmos-datasets, cosmos-embed and plugins/cosmos-plugin-video-folder are built
from copies of their source trees; a fresh venv (no system site-packages) installs them, resolving the
other dependencies through pip's configured index under the repository's constraints (CPU torch). The
test then asks that venv's ``cosmos-run`` for its plugins and datasets and trains a tiny model on a
``video_folder`` dataset named in the spec overrides.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# One worker builds the venv once for all tests here (make test runs xdist with --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("plugin_install")]

REPO = Path(__file__).resolve().parents[1]
PROJECTS = ("packages/core", "packages/datasets", "packages/embed", "plugins/cosmos-plugin-video-folder")

# Runs inside the clean venv: a folder of videos with sidecar captions, loaded through the registry.
MAKE_AND_LOAD = """
import json, sys
import numpy as np
from cosmos_core.plugins import load_plugins
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.samples import SAMPLE_CLASSES, render_clip, write_video

root = sys.argv[1]
rng = np.random.default_rng(0)
for i in range(8):
    cls = SAMPLE_CLASSES[i % 2]
    write_video(f"{root}/train/{cls.slug}_{i}.mp4", render_clip(cls, frames=8, size=(64, 64), rng=rng))
    with open(f"{root}/train/{cls.slug}_{i}.txt", "w") as handle:
        handle.write(cls.caption + "\\n")
config = SingleDatasetConfig(dataset_type="video_folder", data_root=root, split="train", num_video_frames=4,
                             resolution=[32, 32], decode_backend="pyav")
dataset = load_plugins().datasets.get(config.dataset_type)(config, training=False)
print(json.dumps({"size": len(dataset), "labels": dataset.label_names(), "shape": list(dataset[0]["video"].shape)}))
"""


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A clean venv with the four distributions installed from wheels (not editable)."""
    work = tmp_path_factory.mktemp("plugin_install")
    wheels = work / "wheels"
    ignore = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "tests")
    sources = [
        shutil.copytree(REPO / project, work / "src" / Path(project).name, ignore=ignore) for project in PROJECTS
    ]
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    run([*build, *map(str, sources)])
    env_dir = work / "venv"
    run([sys.executable, "-m", "venv", str(env_dir)])
    python = env_dir / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "--no-compile", "-c", str(REPO / "constraints.txt")]
    run([*install, *map(str, sorted(wheels.glob("*.whl")))])
    return env_dir


def clean_env() -> dict[str, str]:
    """The caller's environment without anything that would leak the development venv in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "COSMOS_DISABLE_PLUGINS")}
    return {**env, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}


def test_the_venv_is_clean(venv):
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    code = "import cosmos_datasets, json, sys; print(json.dumps([cosmos_datasets.__file__, sys.path]))"
    location, path = json.loads(run([str(venv / "bin" / "python"), "-c", code], env=clean_env()).stdout)
    assert Path(location).is_relative_to(venv)  # installed from the wheel, not the repository
    assert not [entry for entry in path if entry.startswith(str(REPO))]


def test_cosmos_run_lists_the_plugin_with_its_distribution(venv):
    cosmos_run = str(venv / "bin" / "cosmos-run")
    plugins = json.loads(run([cosmos_run, "plugins", "--json"], env=clean_env()).stdout)
    (entry,) = [p for p in plugins if p["name"] == "video_folder"]
    assert entry["distribution"] == "cosmos-plugin-video-folder" and entry["version"] == "0.1.0"
    assert entry["provides"] == {"datasets": ["video_folder"]}
    listed = run([cosmos_run, "list", "datasets"], env=clean_env()).stdout
    assert any(line.split()[:2] == ["video_folder", "cosmos-plugin-video-folder"] for line in listed.splitlines())


def test_a_spec_uses_the_plugin_dataset_by_name(venv, tmp_path):
    data = tmp_path / "folder"
    loaded = json.loads(run([str(venv / "bin" / "python"), "-c", MAKE_AND_LOAD, str(data)], env=clean_env()).stdout)
    assert loaded == {
        "size": 8,
        "labels": ["a blue circle moving up", "a red square moving right"],
        "shape": [4, 3, 32, 32],
    }
    results = tmp_path / "results"
    train = [
        str(venv / "bin" / "cosmos-run"),
        "cosmos-embed1",
        "train",
        "-e",
        "finetune_tiny",
        f"results_dir={results}",
        "train.max_iter=1",
        "train.checkpoint_iter=1",
        "dataset.train_dataset.dataset_type=video_folder",
        f"dataset.train_dataset.data_root={data}",
        "dataset.train_dataset.workers=0",
        "dataset.train_dataset.batch_size=4",
        "dataset.val_dataset.dataset_type=video_folder",  # validate on the same folder
        f"dataset.val_dataset.data_root={data}",
        "dataset.val_dataset.split=train",
        "dataset.val_dataset.batch_size=4",
    ]
    run(train, env=clean_env(), cwd=tmp_path)
    assert (results / "train" / "cosmos_embed1_model_latest.pth").is_file()
    assert "dataset_type: video_folder" in (results / "train" / "experiment.yaml").read_text()
