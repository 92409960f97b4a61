"""Atomic outputs: nothing half-written, OS refusals as one clear error naming the path and the cause."""

from __future__ import annotations

import errno

import pytest
from cosmos_core import io as cosmos_io
from cosmos_core.io import OutputError, make_dirs, write_json_atomically, write_text_atomically


@pytest.mark.parametrize(
    ("code", "name"),
    [(errno.ENOSPC, "ENOSPC"), (errno.EROFS, "EROFS"), (errno.EACCES, "EACCES"), (errno.EDQUOT, "EDQUOT")],
)
def test_a_refused_write_names_the_path_and_the_cause_and_leaves_the_old_file(tmp_path, monkeypatch, code, name):
    target = write_text_atomically(tmp_path / "metrics.json", "old\n")
    real_open = open

    def refusing_open(path, mode="r", *args, **kwargs):
        if "x" in mode:
            raise OSError(code, "refused", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(OutputError) as info:
        write_json_atomically(target, {"new": 1})
    monkeypatch.undo()
    assert str(info.value).startswith(f"cannot write {target}") and f"{name} (refused)" in str(info.value)
    assert info.value.errno == code
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_an_interrupted_write_leaves_no_temporary_and_the_old_content(tmp_path):
    target = write_text_atomically(tmp_path / "experiment.yaml", "a: 1\n")

    def half_then_stop(handle):
        handle.write(b"a: 2\nb:")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cosmos_io.write_atomically(target, half_then_stop)
    assert target.read_text() == "a: 1\n" and sorted(p.name for p in tmp_path.iterdir()) == ["experiment.yaml"]


def test_a_folder_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "results").write_text("")
    with pytest.raises(OutputError, match=r"cannot create the folder .*results/train.*ENOTDIR"):
        make_dirs(tmp_path / "results" / "train")
