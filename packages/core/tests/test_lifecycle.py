"""One run lifecycle: folder, lock, logs, resolved config, stale temporaries, summary, tear-down."""

from __future__ import annotations

import logging

import attrs
import pytest
from cosmos_core.config import option
from cosmos_core.lifecycle import open_run
from cosmos_core.runlock import LOCK_NAME, RunLockedError


@attrs.frozen
class Config:
    steps: int = option(3, help="steps")
    api_key: str = option("", help="secret", secret=True)


def test_open_run_owns_the_folder_logs_config_and_summary(tmp_path, capsys):
    folder = tmp_path / "run"
    stale = folder / ".model_7.pt.0123456789ab.tmp"
    folder.mkdir()
    stale.write_bytes(b"half")
    with open_run("train", folder, config=Config(api_key="s3cret"), config_file="config.yaml") as run:
        assert (folder / LOCK_NAME).exists() and not stale.exists()
        assert run.dist.world_size == 1 and run.dist.mesh is None and run.is_main
        logging.getLogger("cosmos.test").info("inside the run")
        run.summary("outputs are in the folder")
    assert "steps: 3" in (folder / "config.yaml").read_text() and "s3cret" not in (folder / "config.yaml").read_text()
    console = (folder / "console.log").read_text()
    assert "inside the run" in console and "outputs are in the folder" in console
    assert console.index("inside the run") < console.index("outputs are in the folder")
    assert not (folder / LOCK_NAME).exists()
    assert "outputs are in the folder" in capsys.readouterr().out


def test_no_summary_after_an_error_and_everything_is_released(tmp_path):
    with pytest.raises(ValueError), open_run("train", tmp_path) as run:
        run.summary("never printed")
        raise ValueError("boom")
    assert "never printed" not in (tmp_path / "console.log").read_text()
    assert not (tmp_path / LOCK_NAME).exists()
    with open_run("train", tmp_path):  # free again
        pass


def test_a_second_run_in_the_same_folder_is_refused(tmp_path):
    first = open_run("train", tmp_path)
    with first, pytest.raises(RunLockedError, match="in use by another cosmos-run run"), open_run("train", tmp_path):
        pass


def test_without_logs_nothing_but_the_lock_is_written(tmp_path):
    with open_run("prepare", tmp_path, logs=False):
        assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_NAME]
    assert list(tmp_path.iterdir()) == []
